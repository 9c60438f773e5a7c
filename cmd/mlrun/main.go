// Command mlrun runs machine-learning pipelines declared in MLproject files
// and tracks every run in SQLite. See README.md for a tour.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	// For its effect: C allocations (SQLite's) in one malloc arena, set
	// before the Go runtime starts (see the package).
	_ "github.com/mlrun/mlrun/internal/mallocarena"
	// For its effect too: a short-lived command's timer slack, 1 ms (see
	// the package; the programs mlrun starts get the slack mlrun got).
	_ "github.com/mlrun/mlrun/internal/timerslack"
	"github.com/mlrun/mlrun/provenance"
)

// version is set at build time with -ldflags "-X main.version=..." (make
// build does); without it, main sets it from the build info: the VCS
// revision the binary was built from (see provenance.BuildVersion), or
// "dev" when nothing is known.
var version string

func main() {
	// Short commands skip garbage collection (see gcpolicy.go).
	if gcPolicyApplies(os.Args[1:], os.Getenv) {
		deferGC(shortLivedHeapBound)
	}
	if version == "" {
		info, _ := debug.ReadBuildInfo()
		if version = provenance.BuildVersion(info); version == "" {
			version = "dev"
		}
	}
	// MLRUN_CPUPROFILE=file writes a CPU profile of the command (for
	// developers: go tool pprof bin/mlrun file).
	if path := os.Getenv("MLRUN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mlrun: MLRUN_CPUPROFILE: %v\n", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	// A closed output pipe (mlrun run . | head -1) must not kill mlrun in
	// the middle of a run: with SIGPIPE caught, a write to it fails with
	// EPIPE instead, and what mlrun prints there is dropped. (Caught, not
	// ignored, so that the commands mlrun starts get the default again.)
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
