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

	"github.com/mlrun/mlrun/tracking"
)

// Local runs each task on this machine, Parallel at a time: as a child
// process writing its output to Dir/<run id>.out and .err, or, for a batch
// with Func, as a call of Func in this process (a local sweep's trials).
// Its tasks live as long as the Local value: a Local cannot follow tasks
// another process submitted.
type Local struct {
	mu     sync.Mutex
	states map[string]*localTask
	next   int
}

type localTask struct {
	state  State
	cancel context.CancelFunc
	done   chan struct{} // closed when the task ends
}

// Name is "local".
func (l *Local) Name() string { return "local" }

// Submit starts the tasks in the background.
func (l *Local) Submit(ctx context.Context, b Batch) ([]Task, error) {
	if b.Func == nil {
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
		l.states[tasks[i].Ref()] = &localTask{state: State{Status: tracking.StatusScheduled, Raw: "PENDING"}, cancel: cancel, done: make(chan struct{})}
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
					l.set(tasks[i], runLocal(ctxs[i], b, tasks[i], l.Logs(b.Dir, tasks[i])))
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

func runLocal(ctx context.Context, b Batch, t Task, logs Logs) State {
	if ctx.Err() != nil {
		return State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
	}
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
	argv := append(append([]string(nil), b.Command...), t.RunID)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Stdout, cmd.Stderr = out, errf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
	case err == nil:
		return State{Status: tracking.StatusFinished, Raw: "COMPLETED"}
	case errors.As(err, &ee):
		return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: "exit code " + strconv.Itoa(ee.ExitCode())}
	default:
		return State{Status: tracking.StatusFailed, Raw: "FAILED", Reason: err.Error()}
	}
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
