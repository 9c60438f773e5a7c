package project

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/steps"
)

// fakeKind is a test double of steps.Kind: declarations only, and a Check
// that refuses what the real train kind would refuse.
type fakeKind struct {
	name    string
	inputs  []steps.Input
	outputs []steps.Output
	check   func(steps.Values) error
	checked []steps.Values // what Check was given, in call order
}

func (k *fakeKind) Name() string            { return k.name }
func (k *fakeKind) Doc() string             { return "test kind " + k.name }
func (k *fakeKind) Inputs() []steps.Input   { return k.inputs }
func (k *fakeKind) Outputs() []steps.Output { return k.outputs }
func (k *fakeKind) Check(in steps.Values) error {
	k.checked = append(k.checked, in)
	if k.check != nil {
		return k.check(in)
	}
	return nil
}
func (k *fakeKind) Run(context.Context, *steps.Env, steps.Values) (*steps.Result, error) {
	return nil, fmt.Errorf("fake kind %s does not run", k.name)
}

// testKinds returns a registry of fake kinds shaped like the real ones.
func testKinds() (*steps.Registry, map[string]*fakeKind) {
	kinds := map[string]*fakeKind{
		"load": {name: "load",
			inputs: []steps.Input{
				{Name: "path", Type: steps.Path, Required: true},
				{Name: "target", Type: steps.String, Default: "target"},
			},
			outputs: []steps.Output{{Name: "dataset", Type: steps.Dataset}},
		},
		"train": {name: "train",
			inputs: []steps.Input{
				{Name: "train", Type: steps.Dataset, Required: true},
				{Name: "estimator", Type: steps.String, Default: "logistic_regression"},
				{Name: "C", Type: steps.Float, Default: 1.0},
				{Name: "max_iter", Type: steps.Int, Default: 100},
			},
			outputs: []steps.Output{{Name: "model", Type: steps.Model}},
			check: func(in steps.Values) error {
				if c, ok := in["C"].(float64); ok && c <= 0 {
					return fmt.Errorf("C must be positive, got %v", c)
				}
				return nil
			},
		},
		"log": {name: "log",
			inputs: []steps.Input{
				{Name: "tags", Type: steps.Map},
				{Name: "metrics", Type: steps.Map},
			},
		},
		"command": {name: "command",
			inputs: []steps.Input{
				{Name: "run", Type: steps.String, Required: true},
				{Name: "args", Type: steps.List},
				{Name: "retries", Type: steps.Int},
			},
		},
	}
	var list []steps.Kind
	for _, k := range kinds {
		list = append(list, k)
	}
	return steps.NewRegistry(list...), kinds
}

// writeProject writes text as dir/MLproject in a fresh directory.
func writeProject(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "MLproject"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadGoodProject(t *testing.T) {
	reg, kinds := testKinds()
	p, err := Load("testdata/good", reg)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if p.File != "testdata/good/MLproject" {
		t.Errorf("File = %q, want testdata/good/MLproject", p.File)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "testdata/good"); p.Dir != want {
		t.Errorf("Dir = %q, want %q", p.Dir, want)
	}
	if p.Name != "iris" || p.PythonEnv != "python_env.yaml" {
		t.Errorf("Name, PythonEnv = %q, %v", p.Name, p.PythonEnv)
	}
	wantSched := map[string]any{"nightly": map[string]any{"cron": "0 3 * * *", "entry_point": "main"}}
	if !reflect.DeepEqual(p.Schedules, wantSched) {
		t.Errorf("Schedules = %#v", p.Schedules)
	}
	if got := p.SchedulesPos.String(); got != "testdata/good/MLproject:3:1" {
		t.Errorf("SchedulesPos = %s", got)
	}

	main, err := p.EntryPoint("main")
	if err != nil {
		t.Fatal(err)
	}
	if main.Pos.String() != "testdata/good/MLproject:6:3" {
		t.Errorf("main.Pos = %s", main.Pos)
	}
	var params []string
	for _, prm := range main.Params {
		params = append(params, fmt.Sprintf("%s %s %v(%T) req=%v %d:%d", prm.Name, prm.Type, prm.Default, prm.Default, prm.Required, prm.Pos.Line, prm.Pos.Column))
	}
	wantParams := []string{
		"data path data/iris.csv(string) req=false 8:7",
		"C float 1(float64) req=false 9:7",
		"max_iter int 200(int) req=false 10:7",
		"model string logistic_regression(string) req=false 11:7",
		"alpha float <nil>(<nil>) req=true 12:7",
	}
	if !reflect.DeepEqual(params, wantParams) {
		t.Errorf("params:\n%s\nwant:\n%s", strings.Join(params, "\n"), strings.Join(wantParams, "\n"))
	}
	if !reflect.DeepEqual(main.Sweep, map[string]any{"C": []any{0.1, 1, 10}}) || main.SweepPos.Line != 13 {
		t.Errorf("Sweep = %#v at %s", main.Sweep, main.SweepPos)
	}
	if main.Command != "" {
		t.Errorf("Command = %q", main.Command)
	}

	var order []string
	for _, s := range main.Steps {
		order = append(order, fmt.Sprintf("%s(%s) needs=%v at %d:%d", s.Name, s.Uses, s.Needs, s.Pos.Line, s.Pos.Column))
	}
	wantOrder := []string{
		"load(load) needs=[] at 16:9",
		"train(train) needs=[load] at 23:9",
		"report(log) needs=[train] at 19:9",
		"gate(log) needs=[train] at 31:9",
	}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(wantOrder, "\n"))
	}
	train := main.Steps[1]
	if train.Kind != steps.Kind(kinds["train"]) {
		t.Errorf("train.Kind = %v", train.Kind)
	}
	var with []string
	for _, in := range train.With {
		with = append(with, fmt.Sprintf("%s=%v static=%v at %d:%d", in.Name, in.Value.Raw(), in.Value.Static(), in.Pos.Line, in.Pos.Column))
	}
	wantWith := []string{
		"train=${{ steps.load.outputs.dataset }} static=false at 27:11",
		"estimator=${{ params.model }} static=false at 28:11",
		"C=${{ params.C }} static=false at 29:11",
		"max_iter=50 static=true at 30:11",
	}
	if !reflect.DeepEqual(with, wantWith) {
		t.Errorf("train.With:\n%s\nwant:\n%s", strings.Join(with, "\n"), strings.Join(wantWith, "\n"))
	}
	// Check saw the static inputs and the defaults of the absent ones, not
	// the inputs given by expressions.
	if got := kinds["train"].checked; len(got) != 1 || !reflect.DeepEqual(got[0], steps.Values{"max_iter": 50}) {
		t.Errorf("train Check got %v, want [map[max_iter:50]]", got)
	}
	if got := kinds["load"].checked; len(got) != 1 || !reflect.DeepEqual(got[0], steps.Values{"target": "target"}) {
		t.Errorf("load Check got %v, want [map[target:target]]", got)
	}
	gate := main.Steps[3]
	if gate.When == nil || gate.When.Source != "steps.train.metrics.train_accuracy > 0.9" || gate.When.Pos.String() != "testdata/good/MLproject:33:15" {
		t.Errorf("gate.When = %+v", gate.When)
	}

	script, err := p.EntryPoint("train_script")
	if err != nil {
		t.Fatal(err)
	}
	if script.Command != `python train.py --C {C} --name {name} --json '{{"a": 1}}'` || len(script.Steps) != 0 {
		t.Errorf("train_script: Command %q, %d steps", script.Command, len(script.Steps))
	}
	if len(script.Params) != 2 || script.Params[1].Name != "name" || !script.Params[1].Required || script.Params[1].Type != "string" {
		t.Errorf("train_script params = %+v", script.Params)
	}
}

func TestEntryPointLookup(t *testing.T) {
	reg, _ := testKinds()
	p, err := Load("testdata/good", reg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.EntryPoint("trian")
	want := `entry point "trian" not found in testdata/good/MLproject (it has: main, train_script)`
	if err == nil || err.Error() != want || errs.Code(err) != errs.NotFound {
		t.Fatalf("EntryPoint(trian) = %v (%s), want %s", err, errs.Code(err), want)
	}
	// A .py file of the project that is not declared runs with python.
	ep, err := p.EntryPoint("train.py")
	if err != nil {
		t.Fatal(err)
	}
	pp, err := ep.ResolveParams([]KV{{"C", "0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := ep.RenderCommand(pp)
	if err != nil {
		t.Fatal(err)
	}
	if cmd != "python train.py --C 0.5" {
		t.Errorf("command = %q", cmd)
	}
	// Missing files and names outside the project do not fall back.
	for _, name := range []string{"missing.py", "run.sh", "../good/train.py", "data"} {
		if _, err := p.EntryPoint(name); errs.Code(err) != errs.NotFound {
			t.Errorf("EntryPoint(%q) = %v, want not found", name, err)
		}
	}
}

func TestScriptEntryPointShell(t *testing.T) {
	dir := writeProject(t, "name: x\n")
	if err := os.WriteFile(filepath.Join(dir, "run it.sh"), []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := p.EntryPoint("run it.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := ep.RenderCommand(&Params{})
	if err != nil {
		t.Fatal(err)
	}
	if cmd != "bash 'run it.sh'" {
		t.Errorf("command = %q", cmd)
	}
}

func TestNoProjectFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, nil)
	if want := "no MLproject file in " + dir; err == nil || err.Error() != want || errs.Code(err) != errs.NotFound {
		t.Fatalf("got %v, want %s", err, want)
	}
	// Any case of the name is the project file.
	if err := os.WriteFile(filepath.Join(dir, "mlProject"), []byte("name: lower\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir, nil)
	if err != nil || p.Name != "lower" || p.File != filepath.Join(dir, "mlProject") {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestLoadErrors(t *testing.T) {
	const good = `
entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
      model: {type: string, default: logreg}
    steps:
      - name: load
        uses: load
        with: {path: data.csv}
      - name: train
        uses: train
        with: {train: "${{ steps.load.outputs.dataset }}", C: "${{ params.C }}"}
`
	tests := []struct {
		name, text, want string
	}{
		{"malformed YAML", "entry_points:\n  main: [a, b\n",
			`MLproject:2:9: invalid YAML: sequence end token ']' not found`},
		{"bad indentation", "name: x\nentry_points:\n  a: 1\n b: 2\n",
			`MLproject:4:2: invalid YAML: value is not allowed in this context`},
		{"duplicate key", "name: a\nname: b\n",
			`MLproject:2:1: invalid YAML: mapping key "name" already defined at [1:1]`},
		{"not a mapping", "- a\n- b\n",
			`MLproject:1:1: the file must be a mapping with name and entry_points, not a list`},
		{"two documents", "name: a\n---\nname: b\n",
			`MLproject:2:1: the file holds several YAML documents; an MLproject file holds one`},
		{"unknown top-level key", "name: x\nentrypoints: {}\n",
			`MLproject:2:1: entrypoints: unknown top-level key (known: name, entry_points, python_env, conda_env, docker_env, schedules)`},
		{"two environments", "python_env: p.yaml\nconda_env: c.yaml\n",
			`MLproject:2:1: conda_env: a project may set at most one of python_env, conda_env and docker_env, and python_env is set too`},
		{"entry_points not a mapping", "entry_points: [main]\n",
			`MLproject:1:15: entry_points: must be a mapping of entry point names, not a list`},
		{"unknown entry point key", "entry_points:\n  main:\n    command: x\n    cmd: y\n",
			`MLproject:4:5: entry_points.main.cmd: unknown entry point key (known: parameters, command, steps, sweep, resources)`},
		{"empty entry point", "entry_points:\n  main:\n",
			`MLproject:2:3: entry_points.main: needs either a command or steps`},
		{"unknown param type", "entry_points:\n  main:\n    parameters:\n      C: {type: flaot, default: 1}\n    command: x\n",
			`MLproject:4:17: entry_points.main.parameters.C.type: unknown parameter type "flaot" (known: bool, float, int, path, string, uri)`},
		{"unknown bare param type", "entry_points:\n  main:\n    parameters:\n      C: number\n    command: x\n",
			`MLproject:4:10: entry_points.main.parameters.C: unknown parameter type "number" (known: bool, float, int, path, string, uri)`},
		{"bad float default", "entry_points:\n  main:\n    parameters:\n      C: {type: float, default: abc}\n    command: x\n",
			`MLproject:4:33: entry_points.main.parameters.C.default: "abc" is not a float`},
		{"bad int default", "entry_points:\n  main:\n    parameters:\n      n: {type: int, default: 2.5}\n    command: x\n",
			`MLproject:4:31: entry_points.main.parameters.n.default: the number 2.5 is not a int`},
		{"bad bool default", "entry_points:\n  main:\n    parameters:\n      b: {type: bool, default: 3}\n    command: x\n",
			`MLproject:4:32: entry_points.main.parameters.b.default: the number 3 is not a bool`},
		{"bad uri default", "entry_points:\n  main:\n    parameters:\n      u: {type: uri, default: data.csv}\n    command: x\n",
			`MLproject:4:31: entry_points.main.parameters.u.default: "data.csv" is not a URI (such as s3://bucket/key or https://host/path)`},
		{"list default", "entry_points:\n  main:\n    parameters:\n      s: {default: [1]}\n    command: x\n",
			`MLproject:4:20: entry_points.main.parameters.s.default: a string parameter needs a single value, not a list`},
		{"unknown param key", "entry_points:\n  main:\n    parameters:\n      s: {type: string, dflt: 1}\n    command: x\n",
			`MLproject:4:25: entry_points.main.parameters.s.dflt: unknown parameter key (known: type, default)`},
		{"undeclared placeholder", "entry_points:\n  main:\n    parameters: {C: float}\n    command: python t.py --C {C} --D {D}\n",
			`MLproject:4:14: entry_points.main.command: placeholder {D} names no declared parameter (declared: C)`},
		{"single closing brace", "entry_points:\n  main:\n    command: \"echo }\"\n",
			`MLproject:3:14: entry_points.main.command: single '}' at character 6 (write '}}' for a literal brace)`},
		{"unclosed brace", "entry_points:\n  main:\n    command: \"echo {x\"\n",
			`MLproject:3:14: entry_points.main.command: unclosed '{' at character 6 (write '{{' for a literal brace)`},
		{"format spec", "entry_points:\n  main:\n    parameters: {C: float}\n    command: \"echo {C:.2f}\"\n",
			`MLproject:4:14: entry_points.main.command: placeholder {C:.2f} is not supported: write {name} with a declared parameter's name`},
		{"both command and steps", "entry_points:\n  main:\n    command: x\n    steps: [{name: a, uses: log}]\n",
			`MLproject:2:3: entry_points.main: has both a command and steps; an entry point runs one or the other`},
		{"empty steps", "entry_points:\n  main:\n    steps: []\n",
			`MLproject:3:12: entry_points.main.steps: must be a non-empty list of steps, not a list`},
		{"unknown step kind", strings.Replace(good, "uses: train", "uses: trian", 1),
			`MLproject:12:15: entry_points.main.steps[1].uses: unknown step kind "trian" (known: command, load, log, train)`},
		{"missing uses", "entry_points:\n  main:\n    steps:\n      - name: a\n",
			`MLproject:4:9: entry_points.main.steps[0]: step "a" needs uses: the step kind it runs`},
		{"missing name", "entry_points:\n  main:\n    steps:\n      - uses: log\n",
			`MLproject:4:9: entry_points.main.steps[0]: a step needs a name`},
		{"bad step name", "entry_points:\n  main:\n    steps:\n      - {name: 1st, uses: log}\n",
			`MLproject:4:16: entry_points.main.steps[0].name: a step name is a letter or _ followed by letters, digits, _ or -, not the string "1st"`},
		{"unknown step key", "entry_points:\n  main:\n    steps:\n      - {name: a, uses: log, if: x}\n",
			`MLproject:4:30: entry_points.main.steps[0].if: unknown step key (known: name, uses, with, needs, when)`},
		{"duplicate step name", strings.Replace(good, "name: train", "name: load", 1),
			`MLproject:11:9: entry_points.main.steps[1].name: step name "load" is used twice (first at MLproject:8:9)`},
		{"need of a missing step", strings.Replace(good, "uses: train\n", "uses: train\n        needs: [lod]\n", 1),
			`MLproject:13:17: entry_points.main.steps[1].needs[0]: there is no step "lod" (steps: load, train)`},
		{"self need", strings.Replace(good, "uses: train\n", "uses: train\n        needs: train\n", 1),
			`MLproject:13:16: entry_points.main.steps[1].needs: step "train" cannot need itself`},
		{"cycle", `
entry_points:
  main:
    steps:
      - {name: a, uses: log}
      - {name: b, uses: log, needs: [a, d]}
      - {name: c, uses: log}
      - {name: d, uses: log}
      - {name: e, uses: log, needs: [b]}
`, `MLproject:6:30: entry_points.main.steps[1].needs: the steps' needs form a cycle: b -> d -> c -> b`},
		{"reference to a missing param", strings.Replace(good, "params.C", "params.D", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ params.D }}: params.D: no parameter "D" is declared (declared: C, model)`},
		{"reference to a non-upstream step", good + `      - name: other
        uses: log
        needs: []
        when: steps.train.metrics.acc > 0.5
`, `MLproject:17:15: entry_points.main.steps[2].when: ${{ steps.train.metrics.acc > 0.5 }}: steps.train: step "train" is not upstream of step "other"; add it to needs`},
		{"reference to a later step", strings.Replace(good, "{path: data.csv}", `{path: "${{ steps.train.outputs.model }}"}`, 1),
			`MLproject:10:22: entry_points.main.steps[0].with.path: ${{ steps.train.outputs.model }}: steps.train: step "train" is not upstream of step "load"; add it to needs`},
		{"reference to a missing step", strings.Replace(good, "steps.load.outputs", "steps.lod.outputs", 1),
			`MLproject:13:23: entry_points.main.steps[1].with.train: ${{ steps.lod.outputs.dataset }}: steps.lod: there is no step "lod" (steps: load, train)`},
		{"reference to own outputs", strings.Replace(good, "params.C", "steps.train.outputs.model", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ steps.train.outputs.model }}: steps.train: a step cannot read its own outputs or metrics`},
		{"undeclared output", strings.Replace(good, "outputs.dataset", "outputs.data", 1),
			`MLproject:13:23: entry_points.main.steps[1].with.train: ${{ steps.load.outputs.data }}: steps.load.outputs.data: step kind "load" has no output "data" (outputs: dataset)`},
		{"neither outputs nor metrics", strings.Replace(good, "outputs.dataset", "output.dataset", 1),
			`MLproject:13:23: entry_points.main.steps[1].with.train: ${{ steps.load.output.dataset }}: steps.load.output: a step has outputs and metrics, not "output"`},
		{"unknown name in expression", strings.Replace(good, "params.C", "param.C", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ param.C }}: unknown name "param" (an expression starts from params, steps, metrics, run)`},
		{"env variable", strings.Replace(good, "params.C", "$env.params.C", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ $env.params.C }}: unknown name "$env" (an expression starts from params, steps, metrics, run)`},
		{"unknown function", strings.Replace(good, "params.C", "sqrt(params.C)", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ sqrt(params.C) }}: unknown name "sqrt" (an expression starts from params, steps, metrics, run)`},
		{"unknown run field", strings.Replace(good, "params.C", "run.uuid", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ run.uuid }}: run.uuid: run has no field "uuid" (it has: experiment_id, id, name)`},
		{"expression syntax error", strings.Replace(good, "params.C", "params.C +", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: ${{ params.C + }}: unexpected token EOF (at character 10 of the expression)`},
		{"unterminated template", strings.Replace(good, `"${{ params.C }}"`, `"${{ params.C"`, 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: a ${{ has no closing }}`},
		{"when not an expression", good + "        when: 42\n",
			`MLproject:14:15: entry_points.main.steps[1].when: must be an expression such as "steps.train.metrics.accuracy > 0.9", not the number 42`},
		{"when gives a number", good + "        when: 1 + 2\n",
			`MLproject:14:15: entry_points.main.steps[1].when: ${{ 1 + 2 }}: expected bool, but got int`},
		{"when with text around", good + "        when: \"x ${{ params.C > 1 }}\"\n",
			`MLproject:14:15: entry_points.main.steps[1].when: a condition is one expression, bare or wrapped in ${{ }}, with no text around it`},
		{"unknown input", strings.Replace(good, "{path: data.csv}", "{path: data.csv, sep: ';'}", 1),
			`MLproject:10:32: entry_points.main.steps[0].with.sep: step kind "load" has no input "sep" (inputs: path, target)`},
		{"wrong static type", strings.Replace(good, "C: \"${{ params.C }}\"", "C: high", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: want a float, got high (string)`},
		{"missing required input", strings.Replace(good, "{path: data.csv}", "{target: y}", 1),
			`MLproject:10:9: entry_points.main.steps[0].with: input "path" is required by step kind "load"`},
		{"missing with", strings.Replace(good, "        with: {path: data.csv}\n", "", 1),
			`MLproject:8:9: entry_points.main.steps[0]: input "path" is required by step kind "load"`},
		{"null required input", strings.Replace(good, "{path: data.csv}", "{path: null}", 1),
			`MLproject:10:22: entry_points.main.steps[0].with.path: input "path" is required by step kind "load" and may not be null`},
		{"kind check", strings.Replace(good, "C: \"${{ params.C }}\"", "C: -1", 1),
			`MLproject:13:9: entry_points.main.steps[1].with: C must be positive, got -1`},
		{"text around expression for a float", strings.Replace(good, "C: \"${{ params.C }}\"", "C: \"1${{ params.C }}\"", 1),
			`MLproject:13:63: entry_points.main.steps[1].with.C: want a float, but text around ${{ }} always makes a string (write the expression alone)`},
		{"list for a string input", "entry_points:\n  main:\n    steps:\n      - name: a\n        uses: command\n        with: {run: [\"${{ run.id }}\"]}\n",
			`MLproject:6:21: entry_points.main.steps[0].with.run: want a string, got [${{ run.id }}] ([]interface {})`},
		{"unknown alias", "name: *x\n",
			`MLproject:1:7: alias *x refers to no anchor defined before it`},
		{"unsupported tag", "name: !!binary aGk=\n",
			`MLproject:1:7: unsupported YAML tag !!binary`},
	}
	reg, _ := testKinds()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeProject(t, tc.text)
			_, err := Load(dir, reg)
			if err == nil {
				t.Fatalf("Load succeeded, want error %s", tc.want)
			}
			if errs.Code(err) != errs.Invalid {
				t.Errorf("code = %s, want %s", errs.Code(err), errs.Invalid)
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	// Forms that must load: aliases and merge keys, a wrapped condition,
	// needs as one name, a string default for a typed parameter, an empty file.
	tests := []struct{ name, text string }{
		{"empty file", ""},
		{"only a name", "name: x\n"},
		{"anchors and merge keys", `
entry_points:
  main:
    parameters:
      C: &c {type: float, default: "1e-3"}
      D: *c
    steps:
      - name: load
        uses: load
        with: &w
          path: data.csv
      - name: load2
        uses: load
        with:
          <<: *w
          target: y
      - name: train
        uses: train
        needs: load
        when: "${{ params.C < params.D and run.name != '' }}"
        with:
          train: "${{ steps.load.outputs.dataset }}"
          C: "${{ let c = params.C; c * 2 }}"
          max_iter: 100.0
`},
		{"predicates and builtins", `
entry_points:
  main:
    parameters: {n: {type: int, default: 3}}
    steps:
      - name: a
        uses: command
        with:
          run: "${{ join(map(['x', 'y'], upper(#)), ',') }} ${{ len(metrics) }}"
          args: ["${{ params.n }}", "${{ filter([1, 2], # > params.n) }}"]
          retries: "${{ params.n ?? 1 }}"
      - name: b
        uses: command
        with:
          run: "${{ toJSON(params) }} ${{ now().Year() }} ${{ params?.n }} ${{ steps['a'] }}"
          retries: "${{ int(params.n) }}"
`},
	}
	reg, _ := testKinds()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeProject(t, tc.text)
			if _, err := Load(dir, reg); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{map[string]any{}, "a mapping"},
		{[]any{1}, "a list"},
		{"x", `the string "x"`},
		{true, "the bool true"},
		{0.5, "the number 0.5"},
		{1e6, "the number 1e+06"},
		{3, "the number 3"},
	} {
		if got := Describe(tc.v); got != tc.want {
			t.Errorf("Describe(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
