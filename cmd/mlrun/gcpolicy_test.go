package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// gcSettings reads the collector's current GOGC percent, memory limit and
// number of completed cycles.
func gcSettings(t *testing.T) (percent, limit, cycles uint64) {
	t.Helper()
	samples := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			t.Fatalf("metric %s unsupported", s.Name)
		}
	}
	return samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64()
}

// mappedBytes is the memory the runtime counts against a memory limit.
func mappedBytes() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys - m.HeapReleased
}

// sink keeps allocations from being optimised away.
var sink []byte

// waitForCollection waits until d has seen more than n collections.
func waitForCollection(t *testing.T, d *deferredGC, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		seen := d.collections
		d.mu.Unlock()
		if seen > n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no collection seen after %d", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeferGCCollectsAtTheBoundUntilTheLiveHeapIsLarge(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	runtime.GC()

	bound := int64(mappedBytes()) + 64<<20
	d := startDeferredGC(bound)
	defer d.restore()
	percent, limit, before := gcSettings(t)
	if int64(percent) != -1 { // GOGC=off reads as uint64(-1)
		t.Fatalf("GOGC percent while deferred = %d, want off", percent)
	}
	if int64(limit) != bound {
		t.Fatalf("memory limit while deferred = %d, want %d", limit, bound)
	}

	// Garbage well below the bound (but far above the 4 MiB at which the
	// default GOGC=100 collects) triggers no collection.
	for range 16 {
		sink = make([]byte, 1<<20)
	}
	if _, _, cycles := gcSettings(t); cycles != before {
		t.Fatalf("%d collections below the bound, want none", cycles-before)
	}

	// A collection that finds little live leaves the collector deferred.
	// (An explicit one: in a collection that the limit starts while the
	// program allocates, what it allocates meanwhile counts as live, more
	// of it on a slower machine.)
	runtime.GC()
	waitForCollection(t, d, 0)
	if percent, limit, _ := gcSettings(t); int64(percent) != -1 || int64(limit) != bound {
		t.Fatalf("after a collection that found little live: GOGC=%d, limit=%d; want off and %d", int64(percent), limit, bound)
	}

	// Garbage past the bound triggers a collection.
	d.mu.Lock()
	seen := d.collections
	d.mu.Unlock()
	for range 256 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
	waitForCollection(t, d, seen)

	// Once a collection finds more than half the bound live, the defaults
	// are back for good.
	var live [][]byte
	for range bound/2/(1<<20) + 8 {
		live = append(live, make([]byte, 1<<20))
	}
	// (A cleanup queued by an earlier collection may run late and arm a
	// sentinel after a collection started: collect until one sees it.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		runtime.GC()
		d.mu.Lock()
		restored := d.restored
		d.mu.Unlock()
		if restored {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restored with %d MiB live", len(live))
		}
	}
	runtime.KeepAlive(live)
	if percent, limit, _ := gcSettings(t); percent != 100 || limit != math.MaxInt64 {
		t.Fatalf("after a collection that found %d MiB live: GOGC=%d, limit=%d; want 100 and no limit", len(live), percent, limit)
	}
}

func TestDeferGCRestoreIsIdempotent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	restore := deferGC(1 << 40)
	restore()
	debug.SetGCPercent(50) // a later change restore must not undo
	restore()
	if percent, limit, _ := gcSettings(t); percent != 50 || limit != math.MaxInt64 {
		t.Fatalf("GOGC=%d limit=%d after restore twice, want 50 and no limit", percent, limit)
	}
}

func TestGCPolicyApplies(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		args []string
		env  func(string) string
		want bool
	}{
		{[]string{"run", "examples/iris"}, env(), true},
		{[]string{"--tracking-uri", "/tmp/x", "run", "."}, env(), true},
		{[]string{"--tracking-uri=/tmp/x", "runs", "list"}, env(), true},
		{[]string{"--version"}, env(), true},
		{nil, env(), true},
		{[]string{"schedule", "run", "nightly"}, env(), true},
		{[]string{"server", "--port", "5000"}, env(), false},
		{[]string{"--tracking-uri", "run", "ui"}, env(), false},
		{[]string{"serve", "models:/m/1"}, env(), false},
		{[]string{"scheduler"}, env(), false},
		{[]string{"--", "ui"}, env(), false},
		{[]string{"run", "."}, env("GOGC", "100"), false},
		{[]string{"run", "."}, env("GOGC", "off"), false},
		{[]string{"run", "."}, env("GOMEMLIMIT", "1GiB"), false},
	} {
		if got := gcPolicyApplies(tc.args, tc.env); got != tc.want {
			t.Errorf("gcPolicyApplies(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestGCPolicyInTheBinary checks, in real mlrun processes, that an iris
// run runs with no collection, and that a GOGC or GOMEMLIMIT the user set
// wins.
func TestGCPolicyInTheBinary(t *testing.T) {
	dir := irisDir(t)
	collections := func(env ...string) int {
		e := newEnv(t)
		e.vars = append(e.vars, append([]string{"GODEBUG=gctrace=1", "GOGC=", "GOMEMLIMIT="}, env...)...)
		r := e.ok(dir, "run", ".", "--no-cache")
		n := 0
		for _, line := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(line, "gc ") {
				n++
			}
		}
		return n
	}
	if n := collections(); n != 0 {
		t.Errorf("an iris run collected %d times, want none", n)
	}
	// Settings under which an iris run collects several times (5 and ~50)
	// unless they are overridden, and none before main (where the policy
	// could not override them yet).
	if n := collections("GOGC=50"); n == 0 {
		t.Errorf("an iris run with GOGC=50 never collected: the user's GOGC was overridden")
	}
	if n := collections("GOMEMLIMIT=8MiB"); n == 0 {
		t.Errorf("an iris run with GOMEMLIMIT=8MiB never collected: the user's setting was overridden")
	}
}
