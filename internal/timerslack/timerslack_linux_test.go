//go:build linux && cgo

package timerslack

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The test binary's arguments are flags only, as `mlrun --version`'s are:
// a short-lived command, whose first thread the constructor gave 1 ms.

func TestShortLivedCommandHasOneMillisecondOfSlack(t *testing.T) {
	if Original() == 0 {
		t.Fatal("the constructor did not run (Original is 0)")
	}
	if Original() == 1000000 {
		t.Skip("this process was started with 1 ms of slack already: nothing to tell apart")
	}
	// Every thread inherits it: this goroutine's thread is not the first.
	done := make(chan int)
	go func() { done <- Current() }()
	if got := <-done; got != 1000000 {
		t.Errorf("timer slack of a short-lived command's thread = %d ns, want 1000000 (started with %d)", got, Original())
	}
}

// slackOf starts cmd with Start and returns the number it prints first.
func slackOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("%v printed %q, not a timer slack", cmd.Args, out.String())
	}
	return n
}

func TestStartedProgramsGetTheOriginalSlack(t *testing.T) {
	if got := slackOf(t, exec.Command("cat", "/proc/self/timerslack_ns")); got != Original() {
		t.Errorf("a program started with Start has %d ns of timer slack, want the %d ns mlrun was started with", got, Original())
	}
}

// TestSlackHelper is the child process of the test below: it prints its
// timer slack.
func TestSlackHelper(t *testing.T) {
	if os.Getenv("MLRUN_SLACK_HELPER") != "1" {
		return // only as a child process
	}
	fmt.Println(Current())
}

func TestLongLivedCommandKeepsItsSlack(t *testing.T) {
	for _, cmd := range []string{"server", "ui", "serve", "scheduler", "run"} {
		// The flags first, for the testing package; "cmd" is the first
		// argument that is not a flag, for the constructor.
		c := exec.Command(os.Args[0], "-test.run=^TestSlackHelper$", "-test.count=1", cmd)
		c.Env = append(os.Environ(), "MLRUN_SLACK_HELPER=1")
		got := slackOf(t, c)
		want := Original()
		if cmd == "run" {
			want = 1000000
		}
		if got != want {
			t.Errorf("mlrun %s: timer slack %d ns, want %d", cmd, got, want)
		}
	}
}

func TestLongLived(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"server"}, true},
		{[]string{"ui", "--port", "1"}, true},
		{[]string{"--tracking-uri", "serve", "run"}, false},
		{[]string{"--tracking-uri=x", "scheduler"}, true},
		{[]string{"--", "serve"}, true},
		{[]string{"--"}, false},
		{[]string{"-v", "run", "server"}, false},
	} {
		if got := LongLived(tc.args); got != tc.want {
			t.Errorf("LongLived(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
