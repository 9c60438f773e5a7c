package pipeline

import (
	"fmt"
	"runtime"
	"sync"
)

// background runs the work steps defer (drawing plots) on goroutines, one
// per free slot, while the run goes on; the run waits for all of it (wait)
// before it ends, and the first failure, or a panic as a *PanicError, fails
// the run.
type background struct {
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

// newBackground returns a group running works when one of slots is free.
// The trials of a sweep share their slots, so that many runs at once draw
// no more plots at a time than there are processors.
func newBackground(slots chan struct{}) *background {
	return &background{slots: slots}
}

// newBackgroundSlots returns the slots of background work: one per
// processor.
func newBackgroundSlots() chan struct{} {
	return make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
}

// start runs work on a goroutine once a slot is free and then calls done
// with its error (wrapped with where), if done is not nil.
func (b *background) start(where string, work func() error, done func(error)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.slots <- struct{}{}
		err := func() (err error) {
			defer recoverPanic(&err, where)
			return work()
		}()
		<-b.slots
		if err != nil && asPanic(err) == nil {
			err = fmt.Errorf("%s: %w", where, err)
		}
		if err != nil {
			b.mu.Lock()
			if b.err == nil {
				b.err = err
			}
			b.mu.Unlock()
		}
		if done != nil {
			done(err)
		}
	}()
}

// after calls then on a goroutine without taking a slot (then waits for
// other work); the run waits for it too.
func (b *background) after(then func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		then()
	}()
}

// wait waits for every work started and returns the first failure.
func (b *background) wait() error {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// stepWork is the background work of one step: the step's cache entry is
// recorded only once it is done, so that the entry lists its artifacts.
type stepWork struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	started bool
	failed  bool
}

// deferTo returns the steps.Env.Defer of the step named step: its work
// runs in b and is counted in w.
func (w *stepWork) deferTo(b *background, step string) func(string, func() error) {
	return func(what string, work func() error) {
		w.mu.Lock()
		w.started = true
		w.mu.Unlock()
		w.wg.Add(1)
		b.start("step "+step+": "+what, work, func(err error) {
			if err != nil {
				w.mu.Lock()
				w.failed = true
				w.mu.Unlock()
			}
			w.wg.Done()
		})
	}
}

// pending reports whether the step deferred any work.
func (w *stepWork) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started
}

// ok waits for the step's work and reports whether all of it succeeded.
func (w *stepWork) ok() bool {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.failed
}
