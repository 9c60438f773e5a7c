package pipeline

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wait returns only when every work has run, never runs more than the
// limit at once, and gives the first failure with where it happened.
func TestBackgroundWaitsForAllWorkWithinItsLimit(t *testing.T) {
	b := newBackground(make(chan struct{}, 2))
	var running, most, done atomic.Int32
	for i := range 8 {
		b.start("plot", func() error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			done.Add(1)
			if i == 5 {
				return errors.New("disk full")
			}
			return nil
		}, nil)
	}
	err := b.wait()
	if done.Load() != 8 {
		t.Fatalf("wait returned after %d of 8 works", done.Load())
	}
	if most.Load() > 2 {
		t.Errorf("%d works ran at once, more than the limit of 2", most.Load())
	}
	if err == nil || err.Error() != "plot: disk full" {
		t.Errorf("wait = %v, want plot: disk full", err)
	}
}

// A panic in a work is recovered into a *PanicError naming the work, which
// fails the run as a bug in mlrun; the process goes on.
func TestBackgroundPanicBecomesRunFailure(t *testing.T) {
	b := newBackground(make(chan struct{}, 1))
	w := &stepWork{}
	w.deferTo(b, "evaluate")("confusion_matrix.png", func() error {
		var m map[string]int
		m["x"]++ // panics
		return nil
	})
	err := b.wait()
	p := asPanic(err)
	if p == nil {
		t.Fatalf("wait = %v, want a *PanicError", err)
	}
	if p.Where != "step evaluate: confusion_matrix.png" || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("panic error %q at %q", err, p.Where)
	}
	if w.ok() {
		t.Error("the step's work is ok after a panic")
	}
}

// A step's cache entry waits for the step's deferred work: ok is false
// when any failed, and true once all succeeded.
func TestStepWorkOK(t *testing.T) {
	b := newBackground(make(chan struct{}, 4))
	good, bad := &stepWork{}, &stepWork{}
	if good.pending() {
		t.Fatal("pending before any work")
	}
	var finished atomic.Bool
	good.deferTo(b, "train")("learning_curve.png", func() error {
		time.Sleep(10 * time.Millisecond)
		finished.Store(true)
		return nil
	})
	bad.deferTo(b, "evaluate")("roc_curve.png", func() error { return errors.New("no space") })
	if !good.pending() {
		t.Fatal("not pending after work was deferred")
	}
	if !good.ok() || !finished.Load() {
		t.Error("ok returned before its work finished, or reported a failure")
	}
	if bad.ok() {
		t.Error("ok after a failure")
	}
	if err := b.wait(); err == nil || err.Error() != "step evaluate: roc_curve.png: no space" {
		t.Errorf("wait = %v", err)
	}
}
