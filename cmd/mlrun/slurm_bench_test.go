package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/internal/slurmtest"
)

// slurmBenchEnv is benchEnv on a PostgreSQL store with a Slurm to submit to.
func slurmBenchEnv(b *testing.B) (*env, string, string) {
	slurmtest.Start(b)
	e := benchEnv(b)
	e.vars = append(e.vars, "MLRUN_TRACKING_URI="+pgtest.NewDatabase(b),
		"MLRUN_ARTIFACTS_DESTINATION="+filepath.Join(b.TempDir(), "artifacts"))
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte("name: b\nentry_points:\n  main:\n    parameters: {x: {type: int, default: 0}}\n    command: \"true\"\n"), 0o644)
	return e, dir, filepath.Join(b.TempDir(), "jobs")
}

// BenchmarkSlurmSubmit100: submitting a 100-trial sweep as a job array
// (--detach: creating the runs and sbatch), against `mlrun run --dry-run`
// of the same sweep (loading and checking it), in alternating pairs. The
// issue asks ≤ 1 s.
func BenchmarkSlurmSubmit100(b *testing.B) {
	e, dir, jobs := slurmBenchEnv(b)
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			ms := timed(b, e.command(dir, "run", ".", "-P", "x=range(0,100)", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs, "--detach"))
			exec.Command("scancel", "--name", "mlrun-sweep-main").Run() // the trials are not the point here
			return ms
		}, func() float64 {
			return timed(b, e.command(dir, "run", ".", "-P", "x=range(0,100)", "--dry-run"))
		})
		benchcmp.Figure{Name: "submit a 100-trial sweep to Slurm (ms)", Anchor: "--dry-run of the same sweep", Max: 1000}.Report(b, o, a)
	}
}

// BenchmarkSlurmTrialOverhead: a 10-trial sweep of `true`, 2 at a time, on
// Slurm (attached, polling every 200 ms) against the same sweep run locally,
// in alternating pairs; the ratio is the cost of going through Slurm.
func BenchmarkSlurmTrialOverhead(b *testing.B) {
	e, dir, jobs := slurmBenchEnv(b)
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			return timed(b, e.command(dir, "run", ".", "-P", "x=range(0,10)", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs, "--slurm-poll", "200ms"))
		}, func() float64 {
			return timed(b, e.command(dir, "run", ".", "-P", "x=range(0,10)", "-j", "2"))
		})
		s := benchcmp.Figure{Name: "10-trial sweep on Slurm (ms)", Anchor: "the same sweep, local executor"}.Report(b, o, a)
		b.ReportMetric((s.Ours-s.Anchor)/10, "overhead_ms/trial")
	}
}
