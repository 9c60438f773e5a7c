package parallel

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// caught runs fn and returns what it panicked with (nil if it returned).
func caught(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// A panic in one worker of Do reaches the caller as a *Panic with the
// message and the worker's stack; the other workers run to their end.
func TestDoRaisesAWorkersPanicInTheCaller(t *testing.T) {
	for _, workers := range []int{1, 2, 8} {
		var ran atomic.Int32
		v := caught(func() {
			Do(workers, func(w int) {
				if w == workers-1 {
					panic("boom in worker")
				}
				ran.Add(1)
			})
		})
		p, ok := v.(*Panic)
		if !ok {
			t.Fatalf("%d workers: the caller recovered %#v, want a *Panic", workers, v)
		}
		if p.Error() != "boom in worker" || !strings.Contains(string(p.Stack), "parallel_test.go") {
			t.Errorf("%d workers: panic %q with stack\n%s", workers, p.Error(), p.Stack)
		}
		if int(ran.Load()) != workers-1 {
			t.Errorf("%d workers: %d others ran, want %d", workers, ran.Load(), workers-1)
		}
	}
}

// A runtime error stays visible through the Panic.
func TestPanicUnwrapsARuntimeError(t *testing.T) {
	v := caught(func() {
		Do(2, func(w int) {
			var s []int
			_ = s[w+3]
		})
	})
	var re runtime.Error
	if p, ok := v.(*Panic); !ok || !errors.As(p, &re) || !strings.Contains(p.Error(), "index out of range") {
		t.Fatalf("recovered %#v, want a *Panic of a runtime.Error", v)
	}
}

// Catch returns fn's error, or its panic as a *Panic, which Repanic raises.
func TestCatchAndRepanic(t *testing.T) {
	want := errors.New("plain error")
	if err := Catch(func() error { return want }); err != want {
		t.Errorf("Catch returned %v, want fn's error", err)
	}
	err := Catch(func() error { panic("boom") })
	var p *Panic
	if !errors.As(err, &p) || p.Error() != "boom" {
		t.Fatalf("Catch returned %v, want the panic", err)
	}
	if v := caught(func() { Repanic(want) }); v != nil {
		t.Errorf("Repanic of a plain error panicked with %v", v)
	}
	if v := caught(func() { Repanic(err) }); v != p {
		t.Errorf("Repanic raised %#v, want the *Panic", v)
	}
}
