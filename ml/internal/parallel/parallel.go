// Package parallel runs an estimator's work on several goroutines without
// letting a panic in one of them kill the process. A panic recovered in a
// worker goroutine is handed back to the goroutine that started the work and
// raised there again (as a *Panic), where the pipeline's recover turns it
// into a FAILED run with the panic's message and exit 70, as for a panic in
// the step itself.
//
// Every goroutine that code under ml/ starts goes through Do or Catch.
package parallel

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// Panic is a panic recovered in a worker goroutine.
type Panic struct {
	Value any    // what was passed to panic
	Stack []byte // the worker's stack when it panicked
}

// Error returns the panic's message, as panic printed it (fmt's %v).
func (p *Panic) Error() string { return fmt.Sprint(p.Value) }

// PanicStack returns the worker's stack, so that whoever recovers the
// re-raised panic (pipeline's step recovery) can record where it began.
func (p *Panic) PanicStack() []byte { return p.Stack }

// Unwrap returns the panic's value when it is an error (a runtime.Error,
// say), so that errors.As sees through the Panic.
func (p *Panic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Catch calls fn on the calling goroutine (meant to be a worker) and
// returns its error, or the *Panic it raised. Re-raise it in the caller of
// the workers with Repanic.
func Catch(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &Panic{Value: v, Stack: debug.Stack()}
		}
	}()
	testPanic()
	return fn()
}

// Repanic panics with the *Panic in err's chain, if there is one; it is a
// no-op otherwise. Call it in the goroutine that waits for the workers.
func Repanic(err error) {
	var p *Panic
	if errors.As(err, &p) {
		panic(p)
	}
}

// Do calls fn(0), …, fn(workers-1), each on its own goroutine, and waits
// for all of them. If any panicked, Do then panics in the calling goroutine
// with the first worker's *Panic (by worker number); the others ran to
// their end. With workers <= 1, fn(0) runs on the calling goroutine.
func Do(workers int, fn func(worker int)) {
	if workers <= 1 {
		Repanic(Catch(func() error { fn(0); return nil }))
		return
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = Catch(func() error { fn(w); return nil })
		})
	}
	wg.Wait()
	for _, err := range errs {
		Repanic(err)
	}
}
