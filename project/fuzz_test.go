package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// FuzzLoad checks that no input makes Load, or using what it loaded,
// panic, and that every error is a one-line user error. Run it with
// go test -run '^$' -fuzz FuzzLoad -fuzztime 20s ./project/
// (a plain go test only runs the seeds).
func FuzzLoad(f *testing.F) {
	good, err := os.ReadFile("testdata/good/MLproject")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(good),
		exprProject,
		"",
		"name: x\n",
		"entry_points:\n  main:\n    parameters: {C: float}\n    command: python t.py {C} {{x}}\n",
		"a: &x [*x]\n",
		"entry_points:\n  main:\n    steps:\n      - {name: a, uses: log, needs: [b]}\n      - {name: b, uses: log}\n",
		"entry_points: {m: {steps: [{name: a, uses: command, with: {run: '${{ 1 }}${{'}}]}}\n",
		"x: !!str\n<<: *y\n",
	} {
		f.Add([]byte(seed))
	}
	reg, _ := testKinds()
	dir := f.TempDir()
	file := filepath.Join(dir, "MLproject")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(file, dir, data, reg)
		if err != nil {
			if errs.Code(err) != errs.Invalid {
				t.Fatalf("error code %s for %q: %v", errs.Code(err), data, err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, file+":") {
				t.Fatalf("error is not one positioned line: %q", msg)
			}
			return
		}
		env := map[string]any{"params": map[string]any{}, "steps": map[string]any{}, "metrics": map[string]any{}, "run": map[string]any{}}
		for name := range p.EntryPoints {
			ep, err := p.EntryPoint(name)
			if err != nil {
				t.Fatal(err)
			}
			if params, err := ep.ResolveParams([]KV{{"x", "y"}}); err == nil && ep.Command != "" {
				if _, err := ep.RenderCommand(params); err != nil {
					t.Fatalf("RenderCommand: %v", err)
				}
			}
			for _, s := range ep.Steps {
				_, _ = s.EvalWith(env)
				if s.When != nil {
					_, _ = s.When.EvalBool(env)
				}
			}
		}
	})
}

// FuzzExpr checks that compiling and evaluating any expression never
// panics and that errors are one positioned line.
func FuzzExpr(f *testing.F) {
	for _, seed := range []string{
		"params.C * 2", "steps.a.outputs.x", "steps.a.metrics.acc > 0.9 and run.id != ''",
		"let x = params.C; x + 1", "map([1, 2], # * params.C)", "metrics?.acc ?? 0", `"a" + 1`,
		"1/0", "params.C[1:2]", "{a: 1}.a", "steps['a'].outputs['x']", "$env", "foo(1)",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	reg, _ := testKinds()
	load, _ := reg.Lookup("load")
	a := &Step{Name: "a", Uses: "load", Kind: load}
	scope := &refScope{
		params:   map[string]int{"C": 0},
		declared: "C",
		self:     "b",
		steps:    map[string]*Step{"a": a},
		upstream: map[string]bool{"a": true},
		outputs:  map[string][]string{"a": {"dataset"}},
	}
	env := map[string]any{
		"params":  map[string]any{"C": 1.5},
		"steps":   map[string]any{"a": map[string]any{"outputs": map[string]any{"dataset": []any{1, 2}}, "metrics": map[string]any{"acc": 0.5}}},
		"metrics": map[string]any{"acc": 0.5},
		"run":     map[string]any{"id": "r", "name": "n", "experiment_id": "0"},
	}
	pos := Pos{File: "MLproject", Line: 1, Column: 1}
	f.Fuzz(func(t *testing.T, src string, asBool bool) {
		e, err := compileExpr(src, pos, "f", scope, asBool)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "MLproject:1:1: f: ") || strings.Contains(msg, "\n") {
				t.Fatalf("compile error is not one positioned line: %q", msg)
			}
			return
		}
		if asBool {
			_, err = e.EvalBool(env)
		} else {
			_, err = e.Eval(env)
		}
		if err != nil && (!strings.HasPrefix(err.Error(), "MLproject:1:1: f: ") || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("eval error is not one positioned line: %q", err.Error())
		}
	})
}
