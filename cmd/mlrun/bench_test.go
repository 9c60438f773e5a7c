package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/preprocess"
	"github.com/mlrun/mlrun/ml/split"
)

// Whole-process benchmarks: each iteration runs mlrun and its anchor once,
// in turn, so that a ratio holds when the machine's speed drifts. Figures
// are reported as ms per operation and as ratios (b.ReportMetric).

// timed runs cmd and returns how long it took; it fails b on error.
func timed(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return time.Since(start)
}

// benchEnv is an env for benchmarks (newEnv takes a *testing.T).
func benchEnv(b *testing.B) *env {
	store := filepath.Join(b.TempDir(), "mlruns")
	return &env{store: store, vars: []string{
		"MLRUN_TRACKING_URI=" + store,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"PATH=" + filepath.Dir(mlrunBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
	}}
}

func report(b *testing.B, name string, total time.Duration) float64 {
	ms := float64(total.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, name+"_ms/op")
	return ms
}

// BenchmarkRunOverhead: `mlrun run` of a one-step pipeline whose command is
// `true`, against `sh -c true`.
func BenchmarkRunOverhead(b *testing.B) {
	e := benchEnv(b)
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte(`name: overhead
entry_points:
  main:
    steps:
      - {name: nothing, uses: command, with: {run: "true"}}
`), 0o644)
	var mlrun, sh time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mlrun += timed(b, e.command(dir, "run", ".", "--no-cache"))
		sh += timed(b, exec.Command("sh", "-c", "true"))
	}
	m, s := report(b, "mlrun_run", mlrun), report(b, "sh_true", sh)
	b.ReportMetric(m/s, "ratio")
}

// BenchmarkIrisEndToEnd: `mlrun run examples/iris` (no cache) against the
// same pipeline in scikit-learn (testdata/bench/train.py), when
// /usr/bin/python3 has scikit-learn.
func BenchmarkIrisEndToEnd(b *testing.B) {
	e := benchEnv(b)
	iris, _ := filepath.Abs(filepath.Join("..", "..", "examples", "iris"))
	python := exec.Command("/usr/bin/python3", "-c", "import sklearn")
	hasSklearn := python.Run() == nil
	script, _ := filepath.Abs(filepath.Join("testdata", "bench", "train.py"))
	out := b.TempDir()
	var mlrun, py time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mlrun += timed(b, e.command(b.TempDir(), "run", iris, "--no-cache"))
		if hasSklearn {
			py += timed(b, exec.Command("/usr/bin/python3", script, filepath.Join(iris, "data", "iris.csv"), out))
		}
	}
	m := report(b, "mlrun_iris", mlrun)
	if hasSklearn {
		p := report(b, "sklearn_train_py", py)
		b.ReportMetric(m/p, "ratio")
	}
}

// BenchmarkSweep100: a 100-trial sweep of the iris logistic regression in
// one process, against 100 separate `mlrun run` processes, and against the
// floor: a plain Go loop that loads, splits and fits the 100 models. Each
// gets a fresh store, where the step cache lets trials share load and split
// as they do for users. All
// three run one trial at a time; the sweep is also timed with -j CPUs, and
// without its PNG plots (plots=false), which are most of a trial's work.
func BenchmarkSweep100(b *testing.B) {
	iris, _ := filepath.Abs(filepath.Join("..", "..", "examples", "iris"))
	var values []string
	for i := 0; i < 100; i++ {
		values = append(values, fmt.Sprintf("%.6g", 0.01*float64(i+1)))
	}
	var sweep1, sweepN, noPlots, procs, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := benchEnv(b)
		sweep1 += timed(b, e.command(b.TempDir(), "run", iris, "-j", "1", "-P", "C="+strings.Join(values, ",")))
		e = benchEnv(b)
		sweepN += timed(b, e.command(b.TempDir(), "run", iris, "-j", fmt.Sprint(runtime.NumCPU()), "-P", "C="+strings.Join(values, ",")))
		e = benchEnv(b)
		noPlots += timed(b, e.command(b.TempDir(), "run", iris, "-j", "1", "-P", "plots=false", "-P", "C="+strings.Join(values, ",")))
		e = benchEnv(b)
		start := time.Now()
		for _, c := range values {
			timed(b, e.command(b.TempDir(), "run", iris, "-P", "C="+c))
		}
		procs += time.Since(start)
		start = time.Now()
		fitLoop(b, filepath.Join(iris, "data", "iris.csv"), values)
		floor += time.Since(start)
	}
	s1, sn := report(b, "sweep_j1", sweep1), report(b, "sweep_jN", sweepN)
	p, f := report(b, "100_processes", procs), report(b, "floor", floor)
	b.ReportMetric(s1/p, "sweep/processes")
	b.ReportMetric(s1/f, "sweep/floor")
	b.ReportMetric(sn/f, "sweep_jN/floor")
	b.ReportMetric(report(b, "sweep_j1_noplots", noPlots)/f, "noplots/floor")
	b.ReportMetric((s1-f)/100, "overhead_per_trial_ms")
}

// fitLoop is the floor: only the work of the 100 trials, no tracking.
func fitLoop(b *testing.B, path string, cs []string) {
	ds, err := dataset.Load(path, dataset.LoadOptions{Target: "target"})
	if err != nil {
		b.Fatal(err)
	}
	rs := int64(42)
	train, _, err := split.Split(ds.Rows, split.Options{Shuffle: true, RandomState: &rs})
	if err != nil {
		b.Fatal(err)
	}
	tr := ds.Subset(train)
	pipe, err := preprocess.Fit(tr.Features, preprocess.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	X, err := pipe.Transform(tr.Features)
	if err != nil {
		b.Fatal(err)
	}
	spec, _ := catalog.Builtin().Lookup("logistic_regression")
	for _, c := range cs {
		var C float64
		fmt.Sscan(c, &C)
		est, err := spec.New(ml.Classification, ml.Params{"C": C, "max_iter": 200, "random_state": 42})
		if err != nil {
			b.Fatal(err)
		}
		if err := est.Fit(context.Background(), X, tr.Target.Y, nil); err != nil {
			b.Fatal(err)
		}
	}
}
