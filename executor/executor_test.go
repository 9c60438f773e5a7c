package executor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// Every value reaching the batch script stays one word, whatever it holds.
func TestScriptQuotesEveryValue(t *testing.T) {
	dir := t.TempDir()
	hostile := "a'b $(touch " + filepath.Join(dir, "pwned") + ") `id` \"q\" \\ ;|&\n*"
	b := Batch{Command: []string{"printf", "%s|", hostile}, RunIDs: []string{"run0", "it's $HOME"},
		Env: []string{"MLRUN_X=" + hostile}}
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte(Script(b)), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"run0", "it's $HOME"} {
		cmd := exec.Command("sh", script)
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+[]string{"0", "1"}[i])
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("script: %v", err)
		}
		if got := string(out); got != hostile+"|"+want+"|" {
			t.Errorf("task %d printed %q", i, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a value was executed by the shell")
	}
}

func TestSbatchArgs(t *testing.T) {
	b := Batch{Name: "n", Dir: "/j", RunIDs: []string{"a", "b", "c"}, Parallel: 2,
		Resources: Resources{Partition: "gpu", Time: "10", Mem: "1G", CPUs: 4, GPUs: "1", Account: "acc", Args: []string{"--qos=high"}}}
	got := strings.Join(SbatchArgs(b), " ")
	for _, want := range []string{"--parsable", "--array 0-2%2", "--partition gpu", "--time 10", "--mem 1G",
		"--cpus-per-task 4", "--gpus 1", "--account acc", "--qos=high", "--output /j/%A_%a.out"} {
		if !strings.Contains(got, want) {
			t.Errorf("sbatch args %q lack %q", got, want)
		}
	}
	b.RunIDs = b.RunIDs[:1]
	if got := strings.Join(SbatchArgs(b), " "); strings.Contains(got, "--array") || !strings.Contains(got, "/j/%j.out") {
		t.Errorf("one run: %q", got)
	}
}

func TestMapState(t *testing.T) {
	for raw, want := range map[string]tracking.RunStatus{
		"PENDING": tracking.StatusScheduled, "RUNNING": tracking.StatusRunning, "COMPLETING": tracking.StatusRunning,
		"COMPLETED": tracking.StatusFinished, "FAILED": tracking.StatusFailed, "TIMEOUT": tracking.StatusFailed,
		"OUT_OF_MEMORY": tracking.StatusFailed, "NODE_FAIL": tracking.StatusFailed, "PREEMPTED": tracking.StatusFailed,
		"CANCELLED by 0": tracking.StatusKilled, "CANCELLED": tracking.StatusKilled,
	} {
		st := mapState(raw, "None")
		if st.Status != want {
			t.Errorf("%s -> %s, want %s", raw, st.Status, want)
		}
		if want == tracking.StatusFailed && !strings.Contains(st.Reason, strings.Fields(raw)[0]) {
			t.Errorf("%s: reason %q does not name the Slurm state", raw, st.Reason)
		}
	}
}

func TestParseScontrol(t *testing.T) {
	out := "JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15\n" +
		"JobId=10 ArrayJobId=10 ArrayTaskId=3-4,6%2 JobName=x JobState=PENDING Reason=JobArrayTaskLimit\n" +
		"JobId=20 JobName=y JobState=TIMEOUT Reason=TimeLimit ExitCode=0:0\n"
	got := parseScontrol(out)
	want := map[string]tracking.RunStatus{"10_2": tracking.StatusKilled, "10_3": tracking.StatusScheduled,
		"10_4": tracking.StatusScheduled, "10_6": tracking.StatusScheduled, "20": tracking.StatusFailed}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for ref, st := range want {
		if got[ref].Status != st {
			t.Errorf("%s: %s, want %s", ref, got[ref].Status, st)
		}
	}
	if !strings.Contains(got["20"].Reason, "TIMEOUT (TimeLimit)") {
		t.Errorf("reason %q", got["20"].Reason)
	}
}

// The local executor runs real processes, Parallel at a time, and cancels.
func TestLocal(t *testing.T) {
	ctx := context.Background()
	l := &Local{}
	dir := t.TempDir()
	tasks, err := l.Submit(ctx, Batch{Command: []string{"sh", "-c", `echo "run $0"; test "$0" != bad`}, RunIDs: []string{"ok1", "bad", "ok2"}, Parallel: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	states, err := Wait(ctx, l, tasks, 10*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []tracking.RunStatus{tracking.StatusFinished, tracking.StatusFailed, tracking.StatusFinished} {
		if states[i].Status != want {
			t.Errorf("task %d: %s, want %s", i, states[i].Status, want)
		}
	}
	if b, _ := os.ReadFile(l.Logs(dir, tasks[1]).Stdout); string(b) != "run bad\n" {
		t.Errorf("stdout of task 1: %q", b)
	}

	tasks, err = l.Submit(ctx, Batch{Command: []string{"sh", "-c", "sleep 30"}, RunIDs: []string{"a", "b"}, Parallel: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cancelled := false
	Wait(ctx, l, tasks, 10*time.Millisecond, func(s []State) {
		if s[0].Status == tracking.StatusRunning && !cancelled {
			cancelled = true
			if s[1].Status != tracking.StatusScheduled {
				t.Errorf("the second task is %s while the first runs, with Parallel 1", s[1].Status)
			}
			l.Cancel(ctx, tasks)
		}
	})
	states, err = Wait(ctx, l, tasks, 10*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range states {
		if s.Status != tracking.StatusKilled {
			t.Errorf("cancelled task %d: %s", i, s.Status)
		}
	}
}

// A batch with Func runs its tasks in this process, Parallel at a time and
// in order; Cancel drops the pending ones and Wait returns once all ended.
func TestLocalFunc(t *testing.T) {
	l := &Local{}
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan int, 10)
	tasks, err := l.Submit(ctx, Batch{RunIDs: make([]string, 5), Parallel: 2, Func: func(ctx context.Context, i int) State {
		started <- i
		select {
		case <-release:
			return State{Status: tracking.StatusFinished, Raw: "COMPLETED"}
		case <-ctx.Done():
			return State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := <-started, <-started; a+b != 1 {
		t.Fatalf("first tasks started: %d and %d, want 0 and 1", a, b)
	}
	select {
	case i := <-started:
		t.Fatalf("task %d started while 2 were running with Parallel 2", i)
	case <-time.After(100 * time.Millisecond):
	}
	release <- struct{}{} // one of the first two finishes; task 2 starts
	if i := <-started; i != 2 {
		t.Fatalf("third task started: %d, want 2", i)
	}
	if err := l.Cancel(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	states, err := l.Wait(ctx, tasks)
	if err != nil {
		t.Fatal(err)
	}
	c := Count(states)
	if c.Finished != 1 || c.Killed != 4 || c.Ended() != 5 {
		t.Fatalf("states after cancel: %+v", c)
	}
	if len(started) != 0 {
		t.Fatalf("a cancelled pending task started")
	}
}
