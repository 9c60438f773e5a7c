package main

import (
	"regexp"
	"sync"
	"testing"
)

// Four `mlrun db upgrade` processes started at once on a new PostgreSQL
// database all succeed and report the latest schema version: the
// migration lock makes them take turns.
func TestConcurrentDBUpgradesOnPostgreSQL(t *testing.T) {
	e, _ := newPGEnv(t)
	dir := t.TempDir()
	const n = 4
	outs := make([][]byte, n)
	errors := make([]error, n)
	var wg sync.WaitGroup
	for i := range outs {
		c := e.command(dir, "db", "upgrade")
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errors[i] = c.CombinedOutput()
		}()
	}
	wg.Wait()
	latest := regexp.MustCompile(`schema version (\d+) \(the latest this mlrun knows: (\d+)\)`)
	for i, err := range errors {
		if err != nil {
			t.Errorf("db upgrade %d of %d: %v\n%s", i+1, n, err, outs[i])
			continue
		}
		m := latest.FindStringSubmatch(string(outs[i]))
		if m == nil || m[1] != m[2] {
			t.Errorf("db upgrade %d of %d printed %q, want the latest schema version", i+1, n, outs[i])
		}
	}
	// The store opens and lists its (no) runs.
	if runs := e.runs(); len(runs) != 0 {
		t.Errorf("%d runs in a new store", len(runs))
	}
}
