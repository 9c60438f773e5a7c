package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// GC policy for short-lived commands.
//
// Most mlrun commands run for tens of milliseconds and exit: `mlrun run`
// on a small dataset, each trial of a sweep, `runs list`. For them the
// garbage collector is pure overhead: the heap never grows large, and each
// cycle stops every goroutine with signals, which costs far more on a
// virtual machine than the memory it frees (GOGC=off makes an iris run 5-8
// ms and a 100-trial sweep ~12% faster). So, unless the user has set GOGC
// or GOMEMLIMIT, main turns the percent-based collector off for those
// commands and instead bounds the heap with a soft memory limit
// (shortLivedHeapBound). A command that never reaches the bound never
// collects; one that does (a large dataset) gets a collection at the
// bound, after which the runtime's defaults are restored (GOGC=100 and no
// memory limit), so that a heap that really needs more than the bound
// never makes the collector thrash at the limit: it is a one-time
// allowance, not a cap.
//
// Long-lived commands (servers, the scheduler daemon) keep the runtime's
// defaults from the start: for them, hundreds of MiB of uncollected
// garbage would stay resident for nothing.

// shortLivedHeapBound is the memory (as counted by debug.SetMemoryLimit:
// everything the Go runtime maps) a short-lived command may reach before
// its first garbage collection.
const shortLivedHeapBound = 256 << 20

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
// of bound bytes, until the first collection (which the limit triggers
// when the runtime's memory reaches bound, or which anything else may
// trigger, such as runtime.GC): then the previous settings come back.
// It returns a function that restores them at once, for tests; it is safe
// to call after the restore already happened, and more than once.
func deferGC(bound int64) (restore func()) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(bound)
	done := make(chan struct{}, 1)
	done <- struct{}{} // the token: whoever takes it restores
	restore = func() {
		select {
		case <-done:
			debug.SetGCPercent(percent)
			debug.SetMemoryLimit(limit)
		default:
		}
	}
	// The sentinel is unreachable as soon as deferGC returns, so the first
	// collection frees it and queues its cleanup. (It holds a pointer so
	// that it is not a tiny allocation, whose cleanups may never run.)
	sentinel := &struct{ _ *byte }{}
	runtime.AddCleanup(sentinel, func(restore func()) { restore() }, restore)
	return restore
}
