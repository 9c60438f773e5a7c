package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
)

// baseProject declares one parameter of each type; tests append a sweep
// section (indented for the entry point) with withSection.
const baseProject = `name: t
entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
      max_iter: {type: int, default: 200}
      tol: {type: float, default: 0.0001}
      solver: {type: string, default: lbfgs}
      fit: {type: bool, default: true}
      data: {type: path, default: data.csv}
      site: {type: uri, default: "s3://b/k"}
    command: "echo {C} {max_iter}"
`

// writeProject writes an MLproject and the data.csv its path parameter
// defaults to, and returns the MLproject's path.
func writeProject(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "MLproject")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// loadMain loads the project text and returns its main entry point.
func loadMain(t *testing.T, text string) *project.EntryPoint {
	t.Helper()
	p, err := project.Load(filepath.Dir(writeProject(t, text)), nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	ep, err := p.EntryPoint("main")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// withSection returns baseProject with a sweep section; lines are
// written relative to the `sweep:` key.
func withSection(lines ...string) string {
	var b strings.Builder
	b.WriteString(baseProject)
	b.WriteString("    sweep:\n")
	for _, l := range lines {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

// sweepLine is the line of `sweep:` in a withSection project.
const sweepLine = 13

// kvs splits NAME=VALUE arguments on their first '=' as the CLI does.
func kvs(args ...string) []project.KV {
	out := make([]project.KV, len(args))
	for i, a := range args {
		k, v, _ := strings.Cut(a, "=")
		out[i] = project.KV{Key: k, Value: v}
	}
	return out
}

// lines writes each trial's parameters as "k=v k=v", checking that Index
// and Values agree with them.
func lines(t *testing.T, s *Sweep, trials []Trial) []string {
	t.Helper()
	out := make([]string, len(trials))
	for i, tr := range trials {
		if tr.Index != i {
			t.Fatalf("trial %d has Index %d", i, tr.Index)
		}
		if len(tr.Values) != len(s.Axes) {
			t.Fatalf("trial %d: Values %v, want one per axis", i, tr.Values)
		}
		parts := make([]string, len(tr.Params))
		for j, kv := range tr.Params {
			parts[j] = kv.Key + "=" + kv.Value
		}
		for _, ax := range s.Axes {
			if !strings.Contains(" "+strings.Join(parts, " ")+" ", " "+ax.Name+"="+tr.Values[ax.Name]+" ") {
				t.Fatalf("trial %d: Values[%s]=%q is not in its Params %v", i, ax.Name, tr.Values[ax.Name], parts)
			}
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}

// mustParse parses and lists the trials, failing the test on an error.
func mustParse(t *testing.T, ep *project.EntryPoint, given []project.KV, o Options) (*Sweep, []string) {
	t.Helper()
	s, err := Parse(ep, given, o)
	if err != nil {
		t.Fatalf("Parse(%v): %v", given, err)
	}
	if s == nil {
		t.Fatalf("Parse(%v) = nil, want a sweep", given)
	}
	trials, err := s.Trials()
	if err != nil {
		t.Fatalf("Trials: %v", err)
	}
	if len(trials) != s.Size() {
		t.Fatalf("%d trials, Size() = %d", len(trials), s.Size())
	}
	return s, lines(t, s, trials)
}

// checkInvalid fails unless err is an errs.Invalid whose message holds want.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if errs.Code(err) != errs.Invalid {
		t.Fatalf("error %q has code %s, want %s", err, errs.Code(err), errs.Invalid)
	}
	if !strings.Contains(errs.Message(err), want) {
		t.Fatalf("error\n  %s\nwant it to contain\n  %s", errs.Message(err), want)
	}
}
