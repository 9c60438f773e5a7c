package main

import (
	"strings"
	"testing"
)

// TestServerWorkersFlag checks --workers: accepted for compatibility with
// mlflow server (the help says it is otherwise ignored), and a value below 1
// is refused with exit 2 and a sentence naming the flag and the value.
func TestServerWorkersFlag(t *testing.T) {
	e := newEnv(t)
	for _, cmd := range []string{"server", "ui"} {
		for _, n := range []string{"0", "-3"} {
			r := e.run(t.TempDir(), cmd, "--port", "0", "--workers", n)
			if r.code != 2 || !strings.Contains(r.stderr, "--workers must be at least 1, not "+n) {
				t.Errorf("mlrun %s --workers %s: exit %d, stderr %q; want 2 naming --workers and %s", cmd, n, r.code, r.stderr, n)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("mlrun %s --workers %s panicked:\n%s", cmd, n, r.stderr)
			}
		}
	}
	help := e.ok(t.TempDir(), "server", "--help").stdout
	if !strings.Contains(help, "--workers") || !strings.Contains(help, "ignored") {
		t.Errorf("mlrun server --help does not say what --workers does:\n%s", help)
	}
	// A valid value serves as usual.
	srv := startServer(t, e, "--workers", "4")
	if log := srv.drain(); strings.Contains(log, "error") {
		t.Errorf("mlrun server --workers 4 logged an error:\n%s", log)
	}
}
