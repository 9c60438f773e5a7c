package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/internal/timerslack"
)

// Whole-process benchmarks for `make bench`: each measures mlrun and its
// anchor in alternating pairs (internal/benchcmp) and reports the median
// ratio of wall times with its spread. Run them with -benchtime 1x; one
// iteration measures MLRUN_BENCH_PAIRS pairs (default 5). The
// scikit-learn anchors need Debian's python3-sklearn at /usr/bin/python3;
// without it their figures are skipped with a message.

// cheapPairs is the fewest pairs a comparison of two commands of tens of
// milliseconds measures (see BenchmarkIrisEndToEnd). Issue 9's iris figure
// sits close to its goal (0.335-0.363 over nine runs of 200 pairs one day,
// 0.333-0.376 over nine the next, against 0.362), and single pairs on a
// 2-CPU virtual machine range from 0.15 to 1.2: the median of 40 pairs
// moved by +-0.02 from run to run (0.33-0.38), that of 200 pairs (about 30
// seconds) by +-0.015 within a quarter of an hour; the rest is the
// machine's drift (files deleted on /tmp minutes before, the phase of the
// virtual machine), which more pairs do not remove.
const cheapPairs = 200

// benchPairs returns how many pairs each comparison measures.
func benchPairs() int {
	if n, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// timed runs cmd and returns how many milliseconds it took; it fails b on
// error. The command starts with the timer slack this process was started
// with, as from a shell: this test binary is mlrun's main package, whose
// constructor gave its threads 1 ms (see internal/timerslack), and a child
// inherits it, which would hand the anchors (train.py, an older mlrun) what
// mlrun sets for itself.
func timed(b *testing.B, cmd *exec.Cmd) float64 {
	b.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := timerslack.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out.String())
	}
	return float64(elapsed.Microseconds()) / 1000
}

// timedCPU runs cmd and returns its wall time and the CPU time (user and
// system) its process used, in milliseconds; it fails b on error. The CPU
// time holds much better than the wall time on a loaded machine.
func timedCPU(b *testing.B, cmd *exec.Cmd) (wall, cpu float64) {
	b.Helper()
	wall = timed(b, cmd)
	st := cmd.ProcessState
	return wall, float64((st.UserTime() + st.SystemTime()).Microseconds()) / 1000
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

// sklearn reports whether /usr/bin/python3 has scikit-learn, logging a
// line for bench.sh's table when it has not.
func sklearn(b *testing.B, figure string) bool {
	if exec.Command("/usr/bin/python3", "-c", "import sklearn").Run() == nil {
		return true
	}
	b.Logf("figure|%s|-|scikit-learn|-|-|-|0|-|skipped: /usr/bin/python3 has no scikit-learn (apt-get install python3-sklearn)", figure)
	return false
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
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			return timed(b, e.command(dir, "run", ".", "--no-cache"))
		}, func() float64 {
			return timed(b, exec.Command("sh", "-c", "true"))
		})
		benchcmp.Figure{Name: "mlrun run of `true` (ms)", Anchor: "sh -c true"}.Report(b, o, a)
	}
}

// BenchmarkIrisEndToEnd: `mlrun run examples/iris` (no cache, every plot)
// against the same pipeline in scikit-learn (testdata/bench/train.py,
// which also draws the confusion matrix when matplotlib is there); then
// against itself with plots off (-P plots=false), in wall time and in CPU
// time, which says what the plots cost and holds on a loaded machine; then
// against mlrun as it was when issue 9 set the goal (see issueBinary). The
// comparisons without train.py take a tenth of a second a pair: they
// measure at least cheapPairs pairs, which steadies their medians on a
// noisy machine.
func BenchmarkIrisEndToEnd(b *testing.B) {
	const name = "iris pipeline, plots on (ms)"
	if !sklearn(b, name) {
		return
	}
	e := benchEnv(b)
	iris, _ := filepath.Abs(filepath.Join("..", "..", "examples", "iris"))
	script, _ := filepath.Abs(filepath.Join("testdata", "bench", "train.py"))
	out := b.TempDir()
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			return timed(b, e.command(b.TempDir(), "run", iris, "--no-cache"))
		}, func() float64 {
			return timed(b, exec.Command("/usr/bin/python3", script, filepath.Join(iris, "data", "iris.csv"), out))
		})
		benchcmp.Figure{Name: name, Anchor: "train.py (scikit-learn)", Max: 25}.Report(b, o, a)

		var onCPU, offCPU []float64
		o, a = benchcmp.Alternate(max(benchPairs(), cheapPairs), func() float64 {
			wall, cpu := timedCPU(b, e.command(b.TempDir(), "run", iris, "--no-cache"))
			onCPU = append(onCPU, cpu)
			return wall
		}, func() float64 {
			wall, cpu := timedCPU(b, e.command(b.TempDir(), "run", iris, "--no-cache", "-P", "plots=false"))
			offCPU = append(offCPU, cpu)
			return wall
		})
		benchcmp.Figure{Name: name, Anchor: "same, plots off", Max: 25}.Report(b, o, a)
		benchcmp.Figure{Name: "iris pipeline, plots on: CPU time (ms)", Anchor: "same, plots off: CPU time"}.Report(b, onCPU, offCPU)

		// Issue 9's goal in this run's terms: its 69 ms were mlrun at
		// issueCommit, and 25 ms is 0.362 of that.
		old, oldIris, err := issueBinary(b)
		if err != nil {
			b.Logf("figure|%s|-|mlrun at %s|-|-|-|0|-|skipped: %v", name, issueCommit, err)
			continue
		}
		// Both binaries run from copies made the same way (sameLayoutCopy),
		// so that the comparison is of their code, not of how their files
		// were last written.
		// Each writes to a store of its own that starts empty, so that both
		// write to stores of as many runs (the comparisons above left a few
		// hundred in e's).
		newBin, oldBin := sameLayoutCopy(b, mlrunBin), sameLayoutCopy(b, old)
		newEnv, oldEnv := benchEnv(b), benchEnv(b)
		var newCPU, oldCPU []float64
		o, a = benchcmp.Alternate(max(benchPairs(), cheapPairs), func() float64 {
			cmd := exec.Command(newBin, "run", iris, "--no-cache")
			cmd.Dir, cmd.Env = b.TempDir(), newEnv.environ()
			wall, cpu := timedCPU(b, cmd)
			newCPU = append(newCPU, cpu)
			return wall
		}, func() float64 {
			cmd := exec.Command(oldBin, "run", oldIris, "--no-cache")
			cmd.Dir, cmd.Env = b.TempDir(), oldEnv.environ()
			wall, cpu := timedCPU(b, cmd)
			oldCPU = append(oldCPU, cpu)
			return wall
		})
		benchcmp.Figure{Name: name, Anchor: "mlrun at " + issueCommit + " (issue 9: 69 ms, goal 25)", Goal: "<= 0.362"}.Report(b, o, a)
		// The CPU time beside it: the wall-time ratio also depends on how
		// much of a second processor the machine gives each side (mlrun
		// draws its plots while its steps go on), which varies from minute
		// to minute on a shared VM.
		benchcmp.Figure{Name: "iris pipeline, plots on: CPU time (ms)", Anchor: "mlrun at " + issueCommit + ": CPU time"}.Report(b, newCPU, oldCPU)
	}
}

// sameLayoutCopy copies the binary bin, in one write, into a new temporary
// directory and returns the copy. How a binary's file was written decides
// how much of its code Linux maps in 2 MB pages: the same mlrun build took
// 815-849 page faults to print its version when fresh from the linker, 873
// as copied by cp and 665-727 as written in one write, and an iris run from
// the one-write copy took 0.93x the time (so did mlrun at issueCommit). A
// fresh build draws its layout at random while the issue's binary keeps the
// one it was cached with; copies written alike compare the two builds'
// code.
func sameLayoutCopy(b *testing.B, bin string) string {
	b.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(b.TempDir(), filepath.Base(bin))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		b.Fatal(err)
	}
	return dst
}

// issueCommit is the commit issue 9 measured: its iris pipeline took 69 ms
// then, against a goal of 25 ms.
const issueCommit = "e04fe33"

// issueBinary returns mlrun built from issueCommit of this repository, and
// that commit's examples/iris, made once into MLRUN_BENCH_CACHE (or a
// temporary directory without it). The commit's tree is extracted (git
// archive) into a git repository of its own, committed clean, so that the
// old binary records the provenance of a repository as large as the one
// today's runs in. It fails where the history lacks the commit (a shallow
// clone).
func issueBinary(b *testing.B) (bin, iris string, err error) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	dir := os.Getenv("MLRUN_BENCH_CACHE")
	if dir == "" {
		dir = b.TempDir()
	}
	src := filepath.Join(dir, "mlrun-"+issueCommit)
	bin, iris = src+".bin", filepath.Join(src, "examples", "iris")
	if _, err := os.Stat(bin); err == nil {
		return bin, iris, nil
	}
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", issueCommit+"^{commit}").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("this clone's history lacks commit %s (%v: %s)", issueCommit, err, strings.TrimSpace(string(out)))
	}
	if err := os.RemoveAll(src); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	steps := []*exec.Cmd{
		exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, issueCommit, src),
		exec.Command("git", "init", "-q", src),
		exec.Command("git", "-C", src, "add", "-A"),
		exec.Command("git", "-C", src, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", issueCommit),
		exec.Command("go", "build", "-o", bin, "./cmd/mlrun"),
	}
	for _, c := range steps {
		c.Dir = src
		c.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := c.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("make mlrun at %s: %v: %v: %s", issueCommit, c.Args, err, out)
		}
	}
	return bin, iris, nil
}

// BenchmarkSweep100: a 100-trial sweep of the iris logistic regression in
// one process (-j 1, a fresh store each time, so the step cache shares load
// and split as it does for users), with its plots and without, against the
// loop of 100 scikit-learn fits a user would write
// (testdata/bench/sweep.py). Pairs: MLRUN_BENCH_PAIRS, at most 3.
func BenchmarkSweep100(b *testing.B) {
	const withPlots, noPlots = "100-trial sweep, plots on (ms)", "100-trial sweep, plots off (ms)"
	if !sklearn(b, withPlots) {
		return
	}
	iris, _ := filepath.Abs(filepath.Join("..", "..", "examples", "iris"))
	script, _ := filepath.Abs(filepath.Join("testdata", "bench", "sweep.py"))
	var values []string
	for i := range 100 {
		values = append(values, fmt.Sprintf("%.6g", 0.01*float64(i+1)))
	}
	cs := strings.Join(values, ",")
	sweep := func(args ...string) func() float64 {
		return func() float64 {
			e := benchEnv(b)
			return timed(b, e.command(b.TempDir(), append([]string{"run", iris, "-j", "1", "-P", "C=" + cs}, args...)...))
		}
	}
	python := func() float64 {
		return timed(b, exec.Command("/usr/bin/python3", script, filepath.Join(iris, "data", "iris.csv"), cs))
	}
	pairs := min(benchPairs(), 3)
	for range b.N {
		o, a := benchcmp.Alternate(pairs, sweep(), python)
		benchcmp.Figure{Name: withPlots, Anchor: "sweep.py: 100 scikit-learn fits", Goal: "<= 0.5"}.Report(b, o, a)
		o, a = benchcmp.Alternate(pairs, sweep("-P", "plots=false"), python)
		benchcmp.Figure{Name: noPlots, Anchor: "sweep.py: 100 scikit-learn fits"}.Report(b, o, a)
	}
}
