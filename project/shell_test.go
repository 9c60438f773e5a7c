package project

import (
	"strings"
	"testing"

	"github.com/mlrun/mlrun/steps"
)

// TestShellInputQuotesExpressions: in an input declared Shell every
// ${{ }} becomes one quoted shell word, ${{ raw(x) }} is pasted as is, and
// raw() anywhere else is refused at load time.
func TestShellInputQuotesExpressions(t *testing.T) {
	reg := steps.NewRegistry(steps.Command{}, steps.Log{})
	dir := writeProject(t, `entry_points:
  main:
    parameters:
      msg: {type: string, default: hi}
      C: {type: float, default: 1}
    steps:
      - name: a
        uses: command
        with:
          run: echo ${{ params.msg }} --C ${{ params.C }} ${{ raw(params.msg) }} ${{ '' }}
      - name: b
        uses: command
        with:
          run: ${{ params.msg }}
          env: {MSG: "${{ params.msg }}"}
`)
	p, err := Load(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"params": map[string]any{"msg": "x; touch it's", "C": 1.0}}
	a, b := p.EntryPoints["main"].Steps[0], p.EntryPoints["main"].Steps[1]
	got, err := a.EvalWith(env)
	if err != nil {
		t.Fatal(err)
	}
	want := `echo 'x; touch it'"'"'s' --C 1.0 x; touch it's ''`
	if got["run"] != want {
		t.Errorf("run = %s\nwant  %s", got["run"], want)
	}
	got, err = b.EvalWith(env)
	if err != nil {
		t.Fatal(err)
	}
	if got["run"] != `'x; touch it'"'"'s'` {
		t.Errorf("a lone ${{ }} in a shell command is not quoted: %s", got["run"])
	}
	if got["env"].(map[string]any)["MSG"] != "x; touch it's" {
		t.Errorf("env values reach no shell and stay as they are: %v", got["env"])
	}

	for _, tc := range []struct{ with, msg string }{
		{`{run: "echo ${{ raw(params.msg) + 'x' }}"}`, "raw(...) can only wrap a whole ${{ }}"},
		{`{run: "echo ${{ upper(raw(params.msg)) }}"}`, "raw(...) can only wrap a whole ${{ }}"},
		{`{run: echo, env: {A: "${{ raw(params.msg) }}"}}`, "raw(...) is for a shell command"},
	} {
		dir := writeProject(t, "entry_points:\n  main:\n    parameters: {msg: string}\n    steps:\n      - {name: a, uses: command, with: "+tc.with+"}\n")
		_, err := Load(dir, reg)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "MLproject:5:") {
			t.Errorf("with %s: err = %v, want %q at line 5", tc.with, err, tc.msg)
		}
	}
}

// TestConditionOfKnownTypeMustBeBool: with the parameters typed, a `when:`
// that surely gives no bool is refused at load time; one whose type is
// known only at run time is left to run time.
func TestConditionOfKnownTypeMustBeBool(t *testing.T) {
	reg := steps.NewRegistry(steps.Log{})
	for when, want := range map[string]string{
		"params.C":                       "${{ params.C }} gives a float64, not true or false",
		`params.s + "y"`:                 "gives a string, not true or false",
		"params.n * 2":                   "gives a int, not true or false",
		"params.C > 0 && params.b":       "",
		`"C" in params`:                  "",
		"params.n > 1 ? true : false":    "",
		"metrics.accuracy":               "",
		"steps.a.metrics.acc > params.C": "",
	} {
		dir := writeProject(t, `entry_points:
  main:
    parameters: {C: {type: float, default: 1}, n: {type: int, default: 1}, s: {type: string, default: x}, b: {type: bool, default: true}}
    steps:
      - {name: a, uses: log}
      - name: b
        uses: log
        when: '`+when+`'
`)
		_, err := Load(dir, reg)
		switch {
		case want == "" && err != nil:
			t.Errorf("when: %s: %v", when, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), "MLproject:8:15: entry_points.main.steps[1].when: ") || !strings.Contains(err.Error(), want)):
			t.Errorf("when: %s: err = %v, want %q", when, err, want)
		}
	}
}
