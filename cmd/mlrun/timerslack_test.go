//go:build linux && cgo

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/timerslack"
)

// TestTimerSlackFindsTheLongLivedCommandsAsTheGCPolicyDoes: the C
// constructor of internal/timerslack parses mlrun's arguments itself
// (before the Go runtime starts); it must find the same long-lived
// commands as commandName and longLivedCommand.
func TestTimerSlackFindsTheLongLivedCommandsAsTheGCPolicyDoes(t *testing.T) {
	for _, args := range [][]string{
		nil, {"--version"}, {"run", "examples/iris"}, {"--tracking-uri", "/tmp/x", "run", "."},
		{"--tracking-uri=/tmp/x", "runs", "list"}, {"schedule", "run", "nightly"},
		{"server", "--port", "5000"}, {"--tracking-uri", "run", "ui"}, {"--artifacts-destination", "serve", "run"},
		{"serve", "models:/m/1"}, {"scheduler"}, {"--", "ui"}, {"--"}, {"-h", "server"}, {"uix"}, {"servers"},
	} {
		if got, want := timerslack.LongLived(args), longLivedCommand(commandName(args)); got != want {
			t.Errorf("args %q: long-lived for the timer slack %v, for the GC policy %v", args, got, want)
		}
	}
}

// TestCommandStepsGetTheTimerSlackMlrunWasStartedWith: mlrun runs with
// 1 ms of timer slack, and a command it runs with the slack mlrun itself
// was started with (a child keeps the slack of the thread that forked it).
func TestCommandStepsGetTheTimerSlackMlrunWasStartedWith(t *testing.T) {
	want := timerslack.Original() // this process's, which mlrun is started with
	if want == 0 || want == 1000000 {
		t.Skipf("this process was started with %d ns of timer slack: nothing to tell apart", want)
	}
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: slack
entry_points:
  main:
    command: "cat /proc/self/timerslack_ns > slack.txt"
`})
	cmd := e.command(dir, "run", ".")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := timerslack.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mlrun run: %v\n%s", err, out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "slack.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("slack.txt holds %q", data)
	}
	if got != want {
		t.Errorf("a command step ran with %d ns of timer slack, want the %d ns mlrun was started with", got, want)
	}
}
