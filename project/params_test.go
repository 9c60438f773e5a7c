package project

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// loadGood loads testdata/good and returns the named entry point.
func loadGood(t *testing.T, name string) *EntryPoint {
	t.Helper()
	reg, _ := testKinds()
	p, err := Load("testdata/good", reg)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := p.EntryPoint(name)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestResolveParams(t *testing.T) {
	ep := loadGood(t, "main")
	got, err := ep.ResolveParams([]KV{{"C", "0.5"}, {"alpha", "1e-3"}})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/good/data/iris.csv")
	wantValues := map[string]any{"data": abs, "C": 0.5, "max_iter": 200, "model": "logistic_regression", "alpha": 0.001}
	if !reflect.DeepEqual(got.Values, wantValues) {
		t.Errorf("Values = %#v\nwant %#v", got.Values, wantValues)
	}
	wantStrings := map[string]string{"data": "data/iris.csv", "C": "0.5", "max_iter": "200", "model": "logistic_regression",
		"alpha": "0.001"}
	if !reflect.DeepEqual(got.Strings, wantStrings) {
		t.Errorf("Strings = %#v\nwant %#v", got.Strings, wantStrings)
	}
	// A command entry point takes undeclared parameters, for --name value.
	got, err = loadGood(t, "train_script").ResolveParams([]KV{{"name", "n"}, {"zeta", "z z"}, {"beta", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Strings["zeta"] != "z z" || got.Strings["beta"] != "b" {
		t.Errorf("Strings = %#v", got.Strings)
	}
	if want := []KV{{"zeta", "z z"}, {"beta", "b"}}; !reflect.DeepEqual(got.Extra, want) {
		t.Errorf("Extra = %v, want %v", got.Extra, want)
	}

	// Defaults are logged canonically: a float default 1.0 as "1.0".
	got, err = ep.ResolveParams([]KV{{"alpha", "2"}, {"data", abs}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Strings["C"] != "1.0" || got.Values["C"] != 1.0 || got.Values["alpha"] != 2.0 || got.Values["data"] != abs || got.Strings["data"] != abs {
		t.Errorf("defaults: Values %v Strings %v", got.Values, got.Strings)
	}
	// A file:// URI is a local path.
	got, err = ep.ResolveParams([]KV{{"alpha", "2"}, {"data", "file://" + abs}})
	if err != nil || got.Values["data"] != abs {
		t.Errorf("file URI: %v, %v", got, err)
	}

	decl := "(declared at testdata/good/MLproject:9:7)"
	missing, _ := filepath.Abs("testdata/good/nope.csv")
	tests := []struct {
		name  string
		given []KV
		want  string
	}{
		{"not a float", []KV{{"alpha", "1"}, {"C", "abc"}}, `parameter "C": "abc" is not a float ` + decl},
		{"not an int", []KV{{"alpha", "1"}, {"max_iter", "1.5"}}, `parameter "max_iter": "1.5" is not an int (declared at testdata/good/MLproject:10:7)`},
		{"required", []KV{{"C", "1"}}, `missing value for required parameter(s) "alpha"`},
		{"duplicated", []KV{{"alpha", "1"}, {"C", "1"}, {"C", "2"}}, `parameter "C" is given more than once`},
		{"empty name", []KV{{"", "1"}}, `a parameter name is empty (in "=1"); write NAME=VALUE`},
		{"undeclared, wrong case", []KV{{"alpha", "1"}, {"c", "1"}}, `parameter "c" is not declared by entry point "main", whose steps would never read it (declared: data, C, max_iter, model, alpha); did you mean C?`},
		{"undeclared, a typo", []KV{{"alpha", "1"}, {"max_iters", "1"}}, `parameter "max_iters" is not declared by entry point "main", whose steps would never read it (declared: data, C, max_iter, model, alpha); did you mean max_iter?`},
		{"undeclared, nothing close", []KV{{"alpha", "1"}, {"zeta", "1"}}, `parameter "zeta" is not declared by entry point "main", whose steps would never read it (declared: data, C, max_iter, model, alpha)`},
		{"missing path", []KV{{"alpha", "1"}, {"data", "nope.csv"}}, `parameter "data": no such file or directory ` + missing + ` (declared at testdata/good/MLproject:8:7)`},
		{"remote path", []KV{{"alpha", "1"}, {"data", "s3://bucket/iris.csv"}}, `parameter "data": "s3://bucket/iris.csv" is a remote URI; a path parameter takes a local path (declared at testdata/good/MLproject:8:7)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ep.ResolveParams(tc.given)
			if err == nil || err.Error() != tc.want || errs.Code(err) != errs.Invalid {
				t.Errorf("got %v (%s)\nwant %s", err, errs.Code(err), tc.want)
			}
		})
	}
}

func TestResolveParamsTypes(t *testing.T) {
	dir := writeProject(t, `
entry_points:
  main:
    parameters:
      b: {type: bool, default: false}
      u: {type: uri, default: "s3://bucket/key"}
      n: {type: int, default: "7"}
      f: {type: float, default: 3}
      s: {type: string, default: 1.50}
      p: path
    command: "echo {b} {u} {n} {f} {s}"
`)
	if err := os.Mkdir(filepath.Join(dir, "data dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := p.EntryPoints["main"]
	got, err := ep.ResolveParams([]KV{{"p", "data dir"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"b": false, "u": "s3://bucket/key", "n": 7, "f": 3.0, "s": "1.50", "p": filepath.Join(dir, "data dir")}
	if !reflect.DeepEqual(got.Values, want) {
		t.Errorf("Values = %#v\nwant %#v", got.Values, want)
	}
	wantStrings := map[string]string{"b": "false", "u": "s3://bucket/key", "n": "7", "f": "3.0", "s": "1.50", "p": "data dir"}
	if !reflect.DeepEqual(got.Strings, wantStrings) {
		t.Errorf("Strings = %#v\nwant %#v", got.Strings, wantStrings)
	}
	for text, want := range map[string]bool{"true": true, "True": true, "1": true, "yes": true, "false": false, "0": false, "FALSE": false, "off": false} {
		got, err := ep.ResolveParams([]KV{{"p", "."}, {"b", text}})
		if err != nil || got.Values["b"] != want {
			t.Errorf("b=%s: got %v, %v; want %v", text, got.Values["b"], err, want)
		}
	}
	for _, kv := range []KV{{"b", "maybe"}, {"u", "not a uri"}, {"u", "c:/x"}} {
		if _, err := ep.ResolveParams([]KV{{"p", "."}, kv}); errs.Code(err) != errs.Invalid {
			t.Errorf("%s=%s: got %v, want an Invalid error", kv.Key, kv.Value, err)
		}
	}
}

func TestRenderCommand(t *testing.T) {
	ep := loadGood(t, "train_script")
	tests := []struct {
		given []KV
		want  string
	}{
		{[]KV{{"name", "plain"}}, `python train.py --C 1.0 --name plain --json '{"a": 1}'`},
		{[]KV{{"name", "it's a test"}, {"C", "1e-3"}}, `python train.py --C 1e-3 --name 'it'"'"'s a test' --json '{"a": 1}'`},
		{[]KV{{"name", ""}, {"x", "a b"}, {"y", `say "hi"; rm -rf /`}}, `python train.py --C 1.0 --name '' --json '{"a": 1}' --x 'a b' --y 'say "hi"; rm -rf /'`},
		{[]KV{{"name", "$HOME `id`"}}, "python train.py --C 1.0 --name '$HOME `id`' --json '{\"a\": 1}'"},
	}
	for _, tc := range tests {
		p, err := ep.ResolveParams(tc.given)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ep.RenderCommand(p)
		if err != nil || got != tc.want {
			t.Errorf("RenderCommand(%v)\n got %s (%v)\nwant %s", tc.given, got, err, tc.want)
		}
	}
	// A path parameter is replaced by its absolute path.
	dir := writeProject(t, "entry_points:\n  main:\n    parameters: {data: {type: path, default: MLproject}}\n    command: cat {data}\n")
	p, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	params, err := p.EntryPoints["main"].ResolveParams(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.EntryPoints["main"].RenderCommand(params)
	if want := "cat " + shellQuote(filepath.Join(dir, "MLproject")); err != nil || got != want {
		t.Errorf("got %s (%v), want %s", got, err, want)
	}
	// A steps entry point has no command.
	main := loadGood(t, "main")
	if _, err := main.RenderCommand(&Params{}); err == nil || err.Error() != `entry point "main" runs steps, not a command` {
		t.Errorf("RenderCommand on steps: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	// Expected values are Python's shlex.quote.
	tests := map[string]string{
		"":            "''",
		"abc":         "abc",
		"a-b_c.d/e:f": "a-b_c.d/e:f",
		"@%+=,":       "@%+=,",
		"a b":         "'a b'",
		"it's":        `'it'"'"'s'`,
		"x;y":         "'x;y'",
		"é":           "'é'",
		"~":           "'~'",
	}
	for in, want := range tests {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestFloatParamsAreLoggedAsPythonRepr: a float parameter is logged in one
// form whatever its text: -P C=1e6 as 1000000.0, a default "1e-5" as 1e-05.
func TestFloatParamsAreLoggedAsPythonRepr(t *testing.T) {
	ep := loadGood(t, "main")
	for given, want := range map[string]string{"1e6": "1000000.0", "1": "1.0", "0.50": "0.5", "1E-5": "1e-05", "1e16": "1e+16"} {
		got, err := ep.ResolveParams([]KV{{"alpha", given}, {"C", given}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Strings["alpha"] != want || got.Strings["C"] != want {
			t.Errorf("-P C=%s is logged as %q (alpha %q), want %q", given, got.Strings["C"], got.Strings["alpha"], want)
		}
	}
	// A string parameter keeps its text.
	got, err := ep.ResolveParams([]KV{{"alpha", "1"}, {"model", "1e6"}})
	if err != nil || got.Strings["model"] != "1e6" {
		t.Errorf("string parameter: %v, %v", got, err)
	}
}

// CheckNames is the one check of -P names that run, sweep and
// ResolveParams share.
func TestCheckNames(t *testing.T) {
	if err := CheckNames([]KV{{"C", "1"}, {"alpha", ""}}); err != nil {
		t.Errorf("good names: %v", err)
	}
	for _, tc := range []struct {
		given []KV
		want  string
	}{
		{[]KV{{"C", "1"}, {"C", "1"}}, `parameter "C" is given more than once`},
		{[]KV{{"", "x=1"}}, `a parameter name is empty (in "=x=1"); write NAME=VALUE`},
	} {
		err := CheckNames(tc.given)
		if errs.Code(err) != errs.Invalid || errs.Message(err) != tc.want {
			t.Errorf("%v: %v, want %q", tc.given, err, tc.want)
		}
	}
}
