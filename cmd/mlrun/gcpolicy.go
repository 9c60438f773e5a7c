package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// GC policy for short-lived commands.
//
// Most mlrun commands run for tens of milliseconds and exit: `mlrun run`
// on a small dataset, each trial of a sweep, `runs list`. For them the
// garbage collector is mostly overhead: the heap never grows large, and
// each cycle stops every goroutine with signals, which costs far more on a
// virtual machine than the memory it frees (GOGC=off makes an iris run 5-8
// ms faster). So, unless the user has set GOGC or GOMEMLIMIT, main turns
// the percent-based collector off for those commands and instead bounds
// the heap with a soft memory limit (shortLivedHeapBound). A command that
// never reaches the bound never collects; one that does (a long sweep, a
// large dataset) gets a collection at the bound. As long as what those
// collections find live stays small, the next one waits for the bound
// again; once it does not (a large dataset), the runtime's defaults are
// restored (GOGC=100 and no memory limit), so that a heap that really
// needs more than the bound never makes the collector thrash at the
// limit: the bound is an allowance for garbage, not a cap.
//
// Long-lived commands (servers, the scheduler daemon) keep the runtime's
// defaults from the start: for them, tens of MiB of uncollected garbage
// would stay resident for nothing.

// shortLivedHeapBound is the memory (as counted by debug.SetMemoryLimit:
// everything the Go runtime maps) a short-lived command may reach before
// a garbage collection. An iris run stays under 32 MiB, so it never
// collects. A larger bound would not pay: on a virtual machine, each page
// the heap touches for the first time costs a page fault of ~10 us, more
// than collecting to reuse it; measured on a 100-trial sweep (which
// allocates ~250 MiB, nearly all garbage), a bound of 64 MiB took 0.92x
// the CPU time of GOGC=100, 96 MiB 0.90x, 128 MiB 0.91x, 256 MiB (no
// collection at all, 45,000 page faults instead of 11,800) 1.2x.
const shortLivedHeapBound = 64 << 20

// longLivedCommand reports whether the top-level command name runs until
// it is stopped (and so keeps the runtime's GC defaults).
func longLivedCommand(name string) bool {
	switch name {
	case "server", "ui", "serve", "scheduler":
		return true
	}
	return false
}

// commandName returns the top-level command named in mlrun's arguments:
// the first argument that is not a flag (nor the value of a root flag
// given as a separate argument), or "" when there is none (mlrun
// --version, mlrun --help).
func commandName(args []string) string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case arg == "--tracking-uri" || arg == "--artifacts-destination":
			i++ // the flag's value
		case strings.HasPrefix(arg, "-"):
		default:
			return arg
		}
	}
	return ""
}

// gcPolicyApplies reports whether the short-lived GC policy is used for a
// process run with args and the environment getenv: not when the user
// tuned the collector (GOGC or GOMEMLIMIT set, even to their defaults),
// nor for long-lived commands.
func gcPolicyApplies(args []string, getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	return !longLivedCommand(commandName(args))
}

// deferGC turns the percent-based collector off with a soft memory limit
// of bound bytes: the runtime collects only when its memory reaches bound
// (or when something calls runtime.GC). After each collection, if the
// heap it found live is under half the bound, the collector stays
// deferred: collecting at the bound then frees more per cycle than
// GOGC=100 would, so a long sweep whose trials leave little behind
// collects every ~bound bytes instead of every few MiB. Otherwise (a large
// dataset) the previous settings come back for good, so that the
// collector never thrashes at the limit.
//
// It returns a function that restores the previous settings at once (for
// tests); it may be called after they came back already, and more than
// once.
func deferGC(bound int64) (restore func()) {
	return startDeferredGC(bound).restore
}

// startDeferredGC is deferGC, returning its state.
func startDeferredGC(bound int64) *deferredGC {
	d := &deferredGC{bound: bound}
	d.percent = debug.SetGCPercent(-1)
	d.limit = debug.SetMemoryLimit(bound)
	d.arm()
	return d
}

// deferredGC is the state of deferGC.
type deferredGC struct {
	bound       int64
	percent     int   // the GOGC to restore
	limit       int64 // the memory limit to restore
	mu          sync.Mutex
	collections int // collections seen while deferred
	restored    bool
}

// arm registers a sentinel whose cleanup, queued by the next collection,
// calls collected. (The sentinel is unreachable as soon as arm returns;
// it holds a pointer so that it is not a tiny allocation, whose cleanups
// may never run.)
func (d *deferredGC) arm() {
	sentinel := &struct{ _ *byte }{}
	runtime.AddCleanup(sentinel, func(d *deferredGC) { d.collected() }, d)
}

// collected runs after a collection: it keeps the collector deferred
// while the heap is under half the bound, and restores the previous
// settings otherwise.
func (d *deferredGC) collected() {
	// The heap right after the collection: what it found live, and what
	// was allocated since. (runtime.ReadMemStats stops the world briefly,
	// once per collection at the bound; importing runtime/metrics instead
	// would cost every mlrun process its initialisation, 0.05 ms.)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	d.mu.Lock()
	d.collections++
	d.mu.Unlock()
	if m.HeapAlloc < uint64(d.bound/2) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.restored {
			d.arm()
		}
		return
	}
	d.restore()
}

// restore brings the previous settings back, once.
func (d *deferredGC) restore() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restored {
		return
	}
	d.restored = true
	debug.SetGCPercent(d.percent)
	debug.SetMemoryLimit(d.limit)
}
