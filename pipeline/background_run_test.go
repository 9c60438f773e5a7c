package pipeline

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// sketch is a step kind that draws "sketch.png" in the background: after a
// pause, it writes the file, fails or panics as its input "how" says.
type sketch struct{}

func (sketch) Name() string             { return "sketch" }
func (sketch) Doc() string              { return "draw sketch.png in the background (tests)" }
func (sketch) Outputs() []steps.Output  { return nil }
func (sketch) Check(steps.Values) error { return nil }
func (sketch) Inputs() []steps.Input {
	return []steps.Input{{Name: "how", Type: steps.String, Default: "draw", Doc: "draw, fail or panic"}}
}

func (sketch) Run(ctx context.Context, env *steps.Env, in steps.Values) (*steps.Result, error) {
	how, _ := in["how"].(string)
	path, err := env.Log.ArtifactPath("sketch.png")
	if err != nil {
		return nil, err
	}
	return &steps.Result{}, env.Background("sketch.png", func() error {
		time.Sleep(50 * time.Millisecond) // still drawing when the step returns
		switch how {
		case "fail":
			return os.ErrPermission
		case "panic":
			panic("the pen broke")
		}
		return os.WriteFile(path, []byte("a sketch"), 0o644)
	})
}

// testRunner returns a quiet Runner of kinds on a new SQLite store in a
// temporary directory, and the store.
func testRunner(t *testing.T, kinds *steps.Registry) (*Runner, *sqlite.Store) {
	t.Helper()
	store := filepath.Join(t.TempDir(), "mlruns")
	st, err := sqlite.Open(context.Background(), filepath.Join(store, "mlruns.db"), filepath.Join(store, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Runner{Store: st, Kinds: kinds, Stdout: io.Discard, Stderr: io.Discard, StoreDir: store}, st
}

// runSketch runs a one-step pipeline of sketch with how and returns the
// outcome, the error and the run as stored.
func runSketch(t *testing.T, how string) (*Outcome, error, *tracking.Run) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte(`name: sketches
entry_points:
  main:
    steps:
      - {name: draw, uses: sketch, with: {how: `+how+`}}
`), 0o644)
	kinds := steps.NewRegistry(sketch{})
	proj, err := project.Load(dir, kinds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, st := testRunner(t, kinds)
	out, runErr := r.Run(ctx, Request{Project: proj})
	if out == nil {
		t.Fatalf("no run: %v", runErr)
	}
	run, err := st.GetRun(ctx, out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	return out, runErr, run
}

// The run ends once what its steps drew in the background is written.
func TestRunWaitsForBackgroundPlots(t *testing.T) {
	out, err, run := runSketch(t, "draw")
	if err != nil || out.Status != tracking.StatusFinished {
		t.Fatalf("%s: %v", out.Status, err)
	}
	dir, _ := artifact.DirFromURI(run.Info.ArtifactURI)
	if data, err := os.ReadFile(filepath.Join(dir, "sketch.png")); err != nil || string(data) != "a sketch" {
		t.Errorf("sketch.png when the run ended: %q, %v", data, err)
	}
}

// A plot that fails fails the run, naming the step and the plot.
func TestBackgroundPlotFailureFailsTheRun(t *testing.T) {
	out, err, run := runSketch(t, "fail")
	if out.Status != tracking.StatusFailed || run.Info.Status != tracking.StatusFailed {
		t.Fatalf("status %s (stored %s), want FAILED", out.Status, run.Info.Status)
	}
	const want = "step draw: sketch.png: permission denied"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if got := run.Tags; !hasTag(got, "mlrun.error", want) {
		t.Errorf("mlrun.error tag missing or not %q: %v", want, got)
	}
}

// A panic while drawing is a bug in mlrun: the run fails as after a
// panic in a step, and the process carries on.
func TestBackgroundPlotPanicFailsTheRun(t *testing.T) {
	out, err, run := runSketch(t, "panic")
	if out.Status != tracking.StatusFailed || run.Info.Status != tracking.StatusFailed {
		t.Fatalf("status %s (stored %s), want FAILED", out.Status, run.Info.Status)
	}
	p := asPanic(err)
	if p == nil || p.Where != "step draw: sketch.png" || p.Value != "the pen broke" {
		t.Errorf("error %v (%#v), want the panic of step draw: sketch.png", err, p)
	}
}

func hasTag(tags []tracking.Tag, key, substr string) bool {
	for _, tg := range tags {
		if tg.Key == key && strings.Contains(tg.Value, substr) {
			return true
		}
	}
	return false
}
