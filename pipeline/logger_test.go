package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// note is a step kind that sets the tag "note" to its input "text".
type note struct{}

func (note) Name() string             { return "note" }
func (note) Doc() string              { return "set the tag note (tests)" }
func (note) Outputs() []steps.Output  { return nil }
func (note) Check(steps.Values) error { return nil }
func (note) Inputs() []steps.Input {
	return []steps.Input{{Name: "text", Type: steps.String, Doc: "the tag's value"}}
}

func (note) Run(ctx context.Context, env *steps.Env, in steps.Values) (*steps.Result, error) {
	text, _ := in["text"].(string)
	return &steps.Result{}, env.Log.SetTags(ctx, map[string]string{"note": text})
}

// watch is a step kind that runs until the store shows the tag "note" set
// to its input "text", as a long step would, and fails after 10 s.
type watch struct{}

func (watch) Name() string             { return "watch" }
func (watch) Doc() string              { return "wait for the note to reach the store (tests)" }
func (watch) Outputs() []steps.Output  { return nil }
func (watch) Check(steps.Values) error { return nil }
func (watch) Inputs() []steps.Input {
	return []steps.Input{{Name: "text", Type: steps.String, Doc: "the value awaited"}}
}

func (watch) Run(ctx context.Context, env *steps.Env, in steps.Values) (*steps.Result, error) {
	text, _ := in["text"].(string)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		run, err := env.Store.GetRun(ctx, env.RunID)
		if err != nil {
			return nil, err
		}
		if hasTag(run.Tags, "note", text) {
			return &steps.Result{}, nil
		}
	}
	return nil, fmt.Errorf("the note %q never reached the store while the step ran", text)
}

// Steps' logs are written in batches, but a long step never hides what the
// steps before it logged: the logger's timer writes it while the step runs.
// Values written by the timer and by the runner's flushes keep their order:
// the last one logged wins.
func TestLogsReachTheStoreDuringALongStep(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte(`name: notes
entry_points:
  main:
    steps:
      - {name: first, uses: note, with: {text: one}}
      - {name: wait1, uses: watch, with: {text: one}}
      - {name: second, uses: note, with: {text: two}}
      - {name: wait2, uses: watch, with: {text: two}}
      - {name: last, uses: note, with: {text: three}}
`), 0o644)
	kinds := steps.NewRegistry(note{}, watch{})
	proj, err := project.Load(dir, kinds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, st := testRunner(t, kinds)
	out, err := r.Run(ctx, Request{Project: proj})
	if err != nil || out.Status != tracking.StatusFinished {
		t.Fatalf("run: %v", err)
	}
	run, err := st.GetRun(ctx, out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := run.Tag("note"); v != "three" {
		t.Errorf("tag note = %q, want the last value logged, three", v)
	}
}

// The data sets a sweep's cache lookups decode are decoded once; every use
// gets its own copy, so a step changing its copy changes no other's.
func TestFlightGroupDecodesADatasetOnceAndCopiesIt(t *testing.T) {
	g := newFlightGroup()
	decoded := 0
	decode := func() (*dataset.Dataset, error) {
		decoded++
		return &dataset.Dataset{Path: "iris.csv", Rows: 2, Lines: []int{2, 3},
			Features: &dataset.Frame{NRows: 2, Columns: []dataset.Column{{Name: "x", Num: []float64{1, 2}}}},
			Target:   &dataset.Target{Name: "y", Y: []float64{0, 1}, Classes: []string{"a", "b"}}}, nil
	}
	a, err := g.dataset("k/train", decode)
	if err != nil {
		t.Fatal(err)
	}
	a.Features.Columns[0].Num[0] = 99
	a.Target.Y[1] = 7
	a.Lines[0] = 0
	b, err := g.dataset("k/train", decode)
	if err != nil {
		t.Fatal(err)
	}
	if decoded != 1 {
		t.Errorf("decoded %d times, want once", decoded)
	}
	if b.Features.Columns[0].Num[0] != 1 || b.Target.Y[1] != 1 || b.Lines[0] != 2 || b.Rows != 2 || b.Path != "iris.csv" {
		t.Errorf("second copy %+v %+v %v: changed by the first one's user", b.Features.Columns[0], b.Target, b.Lines)
	}
}

// A run's latest metrics, as the logger knows them from what it logged,
// are what the store says after a flush: MLflow's rule (greater step, then
// timestamp, then value; NaN never replaces), over points logged in any
// order and in several batches.
func TestLoggerKnowsTheLatestMetricsAsTheStoreDoes(t *testing.T) {
	r, st := testRunner(t, steps.NewRegistry())
	ctx := context.Background()
	exp, err := st.EnsureExperiment(ctx, "Default")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID})
	if err != nil {
		t.Fatal(err)
	}
	staging, err := r.stage(info)
	if err != nil {
		t.Fatal(err)
	}
	defer staging.Close()
	log := newRunLogger(st, info.ID, staging, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	values := []float64{0, 1, 2, math.NaN(), math.Inf(1), -1}
	for batch := range 8 {
		var points []tracking.Metric
		for range 40 {
			points = append(points, tracking.Metric{Key: fmt.Sprintf("m%d", rng.IntN(4)),
				Value: values[rng.IntN(len(values))], Timestamp: int64(rng.IntN(3)), Step: int64(rng.IntN(3))})
		}
		if err := log.LogMetrics(ctx, points); err != nil {
			t.Fatal(err)
		}
		known, err := log.latestMetrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := log.flush(ctx); err != nil {
			t.Fatal(err)
		}
		run, err := st.GetRun(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Metrics) != len(known) {
			t.Fatalf("batch %d: the logger knows %d metrics, the store %d", batch, len(known), len(run.Metrics))
		}
		for _, m := range run.Metrics {
			got, _ := known[m.Key].(float64)
			if math.Float64bits(got) != math.Float64bits(m.Value) && !(math.IsNaN(got) && math.IsNaN(m.Value)) {
				t.Errorf("batch %d: %s: the logger says %v, the store %v", batch, m.Key, got, m.Value)
			}
		}
	}
}

// A run whose project's provenance is still being captured is created at
// once; the provenance's tags are recorded before its first step, and do
// not replace a tag the run was created with. A capture that fails fails
// the run.
func TestRunCreatedBeforeItsProvenanceIsCaptured(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte(`name: late
entry_points:
  main:
    steps:
      - {name: first, uses: note, with: {text: one}}
`), 0o644)
	kinds := steps.NewRegistry(note{})
	proj, err := project.Load(dir, kinds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, fail := range []bool{false, true} {
		r, st := testRunner(t, kinds)
		p := &Provenance{dir: proj.Dir, finished: make(chan struct{})}
		r.Provenance = p
		created := false
		r.onCreated = func(string) {
			created = true // the capture ends only now
			p.capture, p.err = captureProvenance(ctx, proj.Dir, "test", r.StoreDir)
			if fail {
				p.capture, p.err = nil, fmt.Errorf("the repository is broken")
			}
			close(p.finished)
		}
		out, err := r.Run(ctx, Request{Project: proj, Tags: map[string]string{"mlflow.source.name": "mine"}})
		if !created || out == nil {
			t.Fatalf("fail=%v: run not created: %v", fail, err)
		}
		run, gerr := st.GetRun(ctx, out.RunID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if fail {
			if err == nil || out.Status != tracking.StatusFailed || !hasTag(run.Tags, "mlrun.error", "the repository is broken") {
				t.Errorf("a failed capture: status %s, error %v, tags %v", out.Status, err, run.Tags)
			}
			continue
		}
		if err != nil || out.Status != tracking.StatusFinished {
			t.Fatalf("run: %v", err)
		}
		if v, _ := run.Tag("mlrun.project.dir"); v != proj.Dir {
			t.Errorf("mlrun.project.dir = %q, want %q (the late provenance's tag)", v, proj.Dir)
		}
		if v, _ := run.Tag("mlflow.source.name"); v != "mine" {
			t.Errorf("mlflow.source.name = %q, want the run's own tag, mine", v)
		}
		if v, _ := run.Tag("mlrun.host"); v == "" {
			t.Errorf("no mlrun.host tag: %v", run.Tags)
		}
	}
}

// probe stands in for a built-in step that writes only its run's
// artifacts (it is named log): it calls ran when it runs.
type probe struct{ ran func() }

func (probe) Name() string             { return "log" }
func (probe) Doc() string              { return "call a function (tests)" }
func (probe) Outputs() []steps.Output  { return nil }
func (probe) Inputs() []steps.Input    { return nil }
func (probe) Check(steps.Values) error { return nil }
func (p probe) Run(ctx context.Context, env *steps.Env, in steps.Values) (*steps.Result, error) {
	p.ran()
	return &steps.Result{}, nil
}

// A step that writes only its run's artifacts runs while the project's
// provenance is still being captured, unless the artifacts are written
// inside the project's repository: then the capture ends first, so that
// they are not taken for changes to the project.
func TestProvenanceIsAwaitedBeforeStepsThatWriteInTheRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	for _, inside := range []bool{false, true} {
		repo := t.TempDir()
		os.WriteFile(filepath.Join(repo, "MLproject"), []byte("name: p\nentry_points:\n  main:\n    steps:\n      - {name: first, uses: log}\n"), 0o644)
		if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v %s", err, out)
		}
		storeDir := t.TempDir()
		artifacts := filepath.Join(t.TempDir(), "artifacts")
		if inside {
			artifacts = filepath.Join(repo, "artifacts")
		}
		st, err := sqlite.Open(ctx, filepath.Join(storeDir, "mlruns.db"), artifacts)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ran := make(chan struct{})
		p := &Provenance{dir: repo, finished: make(chan struct{})}
		capturedFirst := false
		kinds := steps.NewRegistry(probe{ran: func() {
			select {
			case <-p.finished:
				capturedFirst = true
			default:
			}
			close(ran)
		}})
		proj, err := project.Load(repo, kinds)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			select { // the capture ends once the step ran, or after 2 s
			case <-ran:
			case <-time.After(2 * time.Second):
			}
			p.capture, p.err = captureProvenance(ctx, proj.Dir, "test", storeDir)
			close(p.finished)
		}()
		r := &Runner{Store: st, Kinds: kinds, Stdout: io.Discard, Stderr: io.Discard, StoreDir: storeDir, Provenance: p}
		out, err := r.Run(ctx, Request{Project: proj})
		if err != nil || out.Status != tracking.StatusFinished {
			t.Fatalf("inside=%v: run: %v", inside, err)
		}
		if capturedFirst != inside {
			t.Errorf("artifacts inside the repository: %v; provenance captured before the step: %v", inside, capturedFirst)
		}
		run, _ := st.GetRun(ctx, out.RunID)
		if v, _ := run.Tag("mlrun.project.dir"); v != proj.Dir {
			t.Errorf("inside=%v: mlrun.project.dir = %q, want %q", inside, v, proj.Dir)
		}
	}
}
