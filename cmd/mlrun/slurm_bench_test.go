package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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
// of the same sweep (loading and checking it). The issue asks ≤ 1 s.
func BenchmarkSlurmSubmit100(b *testing.B) {
	e, dir, jobs := slurmBenchEnv(b)
	var submit, dry time.Duration
	for i := 0; i < b.N; i++ {
		dry += timed(b, e.command(dir, "run", ".", "-P", "x=range(0,100)", "--dry-run"))
		submit += timed(b, e.command(dir, "run", ".", "-P", "x=range(0,100)", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs, "--detach"))
		exec.Command("scancel", "--name", "mlrun-sweep-main").Run() // the trials are not the point here
	}
	s := report(b, "submit100", submit)
	d := report(b, "dryrun100", dry)
	b.ReportMetric(s/d, "submit/dryrun")
}

// BenchmarkSlurmTrialOverhead: a 10-trial sweep of `true`, 2 at a time, on
// Slurm (attached, polling every 200 ms) against the same sweep run locally;
// reports the per-trial overhead of going through Slurm.
func BenchmarkSlurmTrialOverhead(b *testing.B) {
	e, dir, jobs := slurmBenchEnv(b)
	var onSlurm, local time.Duration
	for i := 0; i < b.N; i++ {
		local += timed(b, e.command(dir, "run", ".", "-P", "x=range(0,10)", "-j", "2"))
		onSlurm += timed(b, e.command(dir, "run", ".", "-P", "x=range(0,10)", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs, "--slurm-poll", "200ms"))
	}
	s := report(b, "slurm10", onSlurm)
	l := report(b, "local10", local)
	b.ReportMetric((s-l)/10, "overhead_ms/trial")
	b.ReportMetric(s/l, "slurm/local")
}
