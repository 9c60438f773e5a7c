package provenance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkInspectGit measures InspectGit on a fresh clone of the
// repository holding this package (the mlrun sources, some 500 files in one
// packfile): clean, and with two modified files and an untracked one, as a
// developer's tree usually is, and with one of the changes staged.
// MLRUN_GITSCAN_DIR names another directory
// to inspect in place (read only), e.g. a developer's checkout.
func BenchmarkInspectGit(b *testing.B) {
	if dir := os.Getenv("MLRUN_GITSCAN_DIR"); dir != "" {
		b.Run("dir", func(b *testing.B) { benchInspect(b, dir) })
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		b.Skipf("not inside a git checkout: %v", err)
	}
	clone, err := filepath.EvalSymlinks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	run(b, clone, "clone", "-q", strings.TrimSpace(string(top)), ".")
	time.Sleep(10 * time.Millisecond) // let the index's mtime pass the files'
	run(b, clone, "status", "-s")     // refresh the index's stat data, as any git command does
	b.Run("clone-clean", func(b *testing.B) { benchInspect(b, clone) })

	files := strings.Fields(run(b, clone, "ls-files", "*.go"))
	for _, f := range files[:2] {
		write(b, clone, f, readFileTB(b, clone, f)+"\n// changed\n")
	}
	write(b, clone, "pipeline/zz_new.go", "package pipeline\n")
	b.Run("clone-dirty", func(b *testing.B) { benchInspect(b, clone) })
	run(b, clone, "add", files[0]) // invalidates the cache tree from the root to the file
	b.Run("clone-staged", func(b *testing.B) { benchInspect(b, clone) })
}

// benchInspect measures InspectGit on dir, and the path without its
// shortcuts ("legacy") for comparison.
func benchInspect(b *testing.B, dir string) {
	for _, legacy := range []bool{false, true} {
		name := "new"
		if legacy {
			name = "legacy"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			start := cpuTime(b)
			for b.Loop() {
				if _, err := inspectGit(ctx, dir, legacy, []string{"/mlruns/"}); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time (user and system) is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

func readFileTB(tb testing.TB, dir, rel string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// cpuTime returns the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
