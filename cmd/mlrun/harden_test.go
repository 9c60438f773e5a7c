package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mlrun/mlrun/tracking"
)

// The tests in this file cover the hardening of issue 9: values reaching a
// shell, paths escaping the artifacts, control characters on the terminal,
// undeclared parameters, exit statuses, closed pipes and atomic deletes.

// TestShellValuesAreQuoted: a parameter's value in a command step's run:
// is one shell word, never shell code; raw(...) pastes it as code.
func TestShellValuesAreQuoted(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: shell
entry_points:
  main:
    parameters:
      msg: {type: string, default: hello}
      filter: {type: string, default: cat}
    steps:
      - name: say
        uses: command
        with:
          run: echo said ${{ params.msg }} | ${{ raw(params.filter) }}
`})
	r := e.ok(dir, "run", ".", "-P", "msg=x; touch pwned", "-P", "filter=tr a-z A-Z")
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatalf("a parameter's value ran as shell code: %s/pwned exists", dir)
	}
	if !strings.Contains(r.stdout, "SAID X; TOUCH PWNED") {
		t.Errorf("the command did not print the value as one word through the raw filter; stdout:\n%s", r.stdout)
	}

	// raw() wraps a whole expression of a shell command, nothing else.
	writeFiles(t, dir, map[string]string{"MLproject": `name: shell
entry_points:
  main:
    parameters:
      msg: {type: string, default: hello}
    steps:
      - name: say
        uses: log
        with:
          tags: {said: "${{ raw(params.msg) }}"}
`})
	r = e.run(dir, "run", ".")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:10:") || !strings.Contains(r.stderr, "raw(...) is for a shell command") {
		t.Errorf("raw() outside a shell command: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
