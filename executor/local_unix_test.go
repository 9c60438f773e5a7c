//go:build linux

package executor

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// A Command task with Output, BaseEnv and Group (a scheduler's fire): no
// run id is appended for an empty id, the environment is BaseEnv plus Env
// only, output goes to Output, PID names a process leading its own group,
// and Cancel sends SIGTERM and, when it is ignored, SIGKILL to the whole
// group after Grace.
func TestLocalGroupGraceOutput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("MLRUN_TEST_LEAK", "leaked")
	logPath := filepath.Join(dir, "fire.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	script := `trap '' TERM
echo "args=$# base=$A extra=$B leak=$MLRUN_TEST_LEAK"
sleep 600 & echo "child=$!"
wait`
	l := &Local{}
	tasks, err := l.Submit(ctx, Batch{
		Command: []string{"sh", "-c", script, "sh"},
		RunIDs:  []string{""},
		Dir:     dir,
		BaseEnv: []string{"PATH=" + os.Getenv("PATH"), "A=base"},
		Env:     []string{"B=extra"},
		Output:  log,
		Group:   true,
		Grace:   300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	pid := l.PID(ctx, tasks[0])
	if pid == 0 {
		states, _ := l.States(ctx, tasks)
		t.Fatalf("no pid: %+v", states[0])
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("process %d is in group %d (%v), want its own", pid, pgid, err)
	}
	var child int
	waitUntil(t, "the task's output", func() bool {
		b, _ := os.ReadFile(logPath)
		i := strings.Index(string(b), "child=")
		if i < 0 {
			return false
		}
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)[i+len("child="):]))
		return child > 0
	})
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	if b, _ := os.ReadFile(logPath); !strings.HasPrefix(string(b), "args=0 base=base extra=extra leak=\n") {
		t.Errorf("output %q: want no argument, BaseEnv plus Env only", b)
	}
	if _, err := os.Stat(filepath.Join(dir, ".out")); err == nil {
		t.Errorf("a log file was created although Output is set")
	}
	if err := l.Cancel(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	states, err := l.Wait(ctx, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if s := states[0]; s.Status != tracking.StatusKilled || s.Raw != "KILLED" || !strings.Contains(s.Reason, "killed (SIGKILL) after the 300ms grace period") {
		t.Errorf("state after ignoring SIGTERM: %+v", s)
	}
	waitUntil(t, "the task's child to die with its group", func() bool { return !alive(child) })

	// A task that ends on SIGTERM is not SIGKILLed: it ends CANCELLED.
	tasks, err = l.Submit(ctx, Batch{Command: []string{"sleep", "60"}, RunIDs: []string{""}, Dir: dir, Output: log, Group: true, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if l.PID(ctx, tasks[0]) == 0 {
		t.Fatal("no pid")
	}
	l.Cancel(ctx, tasks)
	states, _ = l.Wait(ctx, tasks)
	if s := states[0]; s.Status != tracking.StatusKilled || s.Raw != "CANCELLED" || s.Reason != "cancelled, signal: terminated" {
		t.Errorf("state after SIGTERM: %+v", s)
	}
	l.Forget(tasks)
	if states, _ := l.States(ctx, tasks); states[0].Raw != "VANISHED" {
		t.Errorf("a forgotten task is %+v", states[0])
	}

	// A command that cannot start has no pid and says why.
	tasks, _ = l.Submit(ctx, Batch{Command: []string{filepath.Join(dir, "missing")}, RunIDs: []string{""}, Dir: dir, Output: log})
	if pid := l.PID(ctx, tasks[0]); pid != 0 {
		t.Errorf("pid %d of a command that cannot start", pid)
	}
	if states, _ := l.States(ctx, tasks); states[0].Status != tracking.StatusFailed || !strings.Contains(states[0].Reason, "cannot start") {
		t.Errorf("state of a command that cannot start: %+v", states[0])
	}
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// waitUntil polls cond until it holds, failing after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
