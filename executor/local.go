package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mlrun/mlrun/internal/timerslack"
	"github.com/mlrun/mlrun/tracking"
)

// DefaultGrace is how long Local's Cancel waits for a task's process to
// end after SIGTERM before it sends SIGKILL, unless the Batch says.
const DefaultGrace = 10 * time.Second

// Local runs each task on this machine, Parallel at a time: as a child
// process writing its output to Dir/<run id>.out and .err (or to
// Batch.Output), or, for a batch with Func, as a call of Func in this
// process (a local sweep's trials). Cancel sends a running process SIGTERM,
// then SIGKILL after Batch.Grace; a task so killed ends KILLED with Raw
// "KILLED", one that ended after SIGTERM with Raw "CANCELLED". Its tasks
// live as long as the Local value: a Local cannot follow tasks another
// process submitted.
type Local struct {
	mu     sync.Mutex
	states map[string]*localTask
	next   int
}

type localTask struct {
	state   State
	cancel  context.CancelFunc
	pid     int           // the task's process, once started
	started chan struct{} // closed once the process started, or the task ended without one
	done    chan struct{} // closed when the task ends
}

// Name is "local".
func (l *Local) Name() string { return "local" }

// Submit starts the tasks in the background.
func (l *Local) Submit(ctx context.Context, b Batch) ([]Task, error) {
	if b.Func == nil && b.Output == nil {
		if err := os.MkdirAll(b.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create the job directory: %w", err)
		}
	}
	l.mu.Lock()
	if l.states == nil {
		l.states = map[string]*localTask{}
	}
	l.next++
	job := strconv.Itoa(l.next)
	tasks := make([]Task, len(b.RunIDs))
	ctxs := make([]context.Context, len(b.RunIDs))
	for i, id := range b.RunIDs {
		tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		tasks[i], ctxs[i] = Task{RunID: id, JobID: job, Index: i}, tctx
		l.states[tasks[i].Ref()] = &localTask{state: State{Status: tracking.StatusScheduled, Raw: "PENDING"}, cancel: cancel, started: make(chan struct{}), done: make(chan struct{})}
	}
	l.mu.Unlock()
	par := b.Parallel
	if par <= 0 {
		par = len(tasks)
	}
	// Tasks start in order, Parallel at a time.
	next := make(chan int, len(tasks))
	for i := range tasks {
		next <- i
	}
	close(next)
	for w := 0; w < par; w++ {
		go func() {
			for i := range next {
				if !l.start(tasks[i]) { // cancelled while pending
					continue
				}
				if b.Func != nil {
					l.set(tasks[i], b.Func(ctxs[i], i))
				} else {
					l.set(tasks[i], l.run(ctxs[i], b, tasks[i]))
				}
			}
		}()
	}
	return tasks, nil
}

// start moves a pending task to RUNNING, unless it was cancelled.
func (l *Local) start(t Task) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lt := l.states[t.Ref()]
	if lt.state.Status != tracking.StatusScheduled {
		return false
	}
	lt.state = State{Status: tracking.StatusRunning, Raw: "RUNNING"}
	return true
}

// run runs a Command task's process until it ends, or until ctx is
// cancelled: then SIGTERM, and SIGKILL after the batch's grace period.
func (l *Local) run(ctx context.Context, b Batch, t Task) State {
	if ctx.Err() != nil {
		return State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
	}
	argv := append([]string(nil), b.Command...)
	if t.RunID != "" {
		argv = append(argv, t.RunID)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = b.Dir
	base := b.BaseEnv
	if base == nil {
		base = os.Environ()
	}
	cmd.Env = append(append([]string(nil), base...), b.Env...)
	if b.Group {
		cmd.SysProcAttr = groupAttr()
	}
	if b.Output != nil {
		cmd.Stdout, cmd.Stderr = b.Output, b.Output
	} else {
		logs := l.Logs(b.Dir, t)
		out, err := os.Create(logs.Stdout)
		if err != nil {
			return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: err.Error()}
		}
		defer out.Close()
		errf, err := os.Create(logs.Stderr)
		if err != nil {
			return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: err.Error()}
		}
		defer errf.Close()
		cmd.Stdout, cmd.Stderr = out, errf
	}
	if err := timerslack.Start(cmd); err != nil {
		return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: fmt.Sprintf("cannot start %s: %v", argv[0], err)}
	}
	l.mu.Lock()
	lt := l.states[t.Ref()]
	lt.pid = cmd.Process.Pid
	close(lt.started)
	l.mu.Unlock()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	cancelled, killed := false, false
	grace := b.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	select {
	case err = <-exited:
	case <-ctx.Done():
		cancelled = true
		terminate(cmd.Process)
		timer := time.NewTimer(grace)
		select {
		case err = <-exited:
		case <-timer.C:
			killed = true
			kill(cmd.Process, b.Group)
			err = <-exited
		}
		timer.Stop()
	}
	var ee *exec.ExitError
	switch {
	case killed:
		return State{Status: tracking.StatusKilled, Raw: "KILLED", Reason: fmt.Sprintf("killed (SIGKILL) after the %s grace period", grace)}
	case cancelled:
		return State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled, " + exitText(err)}
	case err == nil:
		return State{Status: tracking.StatusFinished, Raw: "COMPLETED"}
	case errors.As(err, &ee):
		return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: exitText(err)}
	default:
		return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: err.Error()}
	}
}

// exitText describes how a process exited: "exit status 0", "exit
// status 2", "signal: terminated".
func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.ProcessState.String()
	}
	return err.Error()
}

// PID waits until a Command task's process has started and returns its
// pid; 0 when the task ended without one (cancelled while pending, or its
// command could not start: States says why), or when ctx ends first.
func (l *Local) PID(ctx context.Context, t Task) int {
	l.mu.Lock()
	lt := l.states[t.Ref()]
	l.mu.Unlock()
	if lt == nil {
		return 0
	}
	select {
	case <-lt.started:
	case <-lt.done:
	case <-ctx.Done():
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return lt.pid
}

func (l *Local) set(t Task, st State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lt := l.states[t.Ref()]; lt != nil {
		lt.state = st
		if st.Status.Terminal() {
			close(lt.done)
		}
	}
}

// Wait blocks until every task has ended, or ctx ends, and returns their
// states.
func (l *Local) Wait(ctx context.Context, tasks []Task) ([]State, error) {
	for _, t := range tasks {
		l.mu.Lock()
		lt := l.states[t.Ref()]
		l.mu.Unlock()
		if lt == nil {
			continue
		}
		select {
		case <-lt.done:
		case <-ctx.Done():
			states, _ := l.States(ctx, tasks)
			return states, ctx.Err()
		}
	}
	return l.States(ctx, tasks)
}

// States reports the tasks' states; a task this Local did not start has vanished.
func (l *Local) States(ctx context.Context, tasks []Task) ([]State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]State, len(tasks))
	for i, t := range tasks {
		lt := l.states[t.Ref()]
		if lt == nil {
			out[i] = State{Status: tracking.StatusFailed, Raw: "VANISHED", Reason: "task " + t.Ref() + " is not known to this process"}
			continue
		}
		out[i] = lt.state
	}
	return out, nil
}

// Cancel interrupts running tasks and drops pending ones.
func (l *Local) Cancel(ctx context.Context, tasks []Task) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tasks {
		if lt := l.states[t.Ref()]; lt != nil && !lt.state.Status.Terminal() {
			if lt.state.Status == tracking.StatusScheduled {
				lt.state = State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
				close(lt.done)
			}
			lt.cancel()
		}
	}
	return nil
}

// Logs names the task's output files.
func (l *Local) Logs(dir string, t Task) Logs {
	return Logs{Stdout: filepath.Join(dir, t.RunID+".out"), Stderr: filepath.Join(dir, t.RunID+".err")}
}

// Forget drops what Local knows of tasks that have ended (a long-lived
// caller, such as the scheduler, forgets each fire's task once recorded);
// States then reports them vanished.
func (l *Local) Forget(tasks []Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tasks {
		if lt := l.states[t.Ref()]; lt != nil && lt.state.Status.Terminal() {
			delete(l.states, t.Ref())
		}
	}
}
