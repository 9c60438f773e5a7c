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

func TestDeferGCCollectsAtTheBoundThenRestoresTheDefaults(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	runtime.GC()

	bound := int64(mappedBytes()) + 64<<20
	restore := deferGC(bound)
	defer restore()
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

	// Garbage past the bound triggers one, after which the defaults are
	// back (restored by the cleanup goroutine, shortly after).
	for range 256 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		percent, limit, cycles := gcSettings(t)
		if cycles > before && percent == 100 && limit == math.MaxInt64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d collections past the bound: GOGC=%d, limit=%d; want 100 and no limit", cycles-before, percent, limit)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
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
// run (whose few MiB of garbage the default GOGC=100 collects several
// times) runs with no collection, and that a GOGC the user set wins.
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
	if n := collections("GOGC=100"); n == 0 {
		t.Errorf("an iris run with GOGC=100 never collected: the user's GOGC was overridden")
	}
	if n := collections("GOMEMLIMIT=1GiB"); n == 0 {
		t.Errorf("an iris run with GOMEMLIMIT=1GiB never collected: the user's setting was overridden")
	}
}
