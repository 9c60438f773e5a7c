package pipeline

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered while a run executed: a bug in mlrun, not
// in the user's input. The run ends FAILED with the panic's message as its
// mlrun.error tag, and the error keeps errs' Internal code, so that the
// command exits 70. Stack is the panicking goroutine's stack.
type PanicError struct {
	Where string // "step evaluate", "trial 3", "run <id>"
	Value any    // what was passed to panic
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("%s panicked: %v", e.Where, e.Value) }

// recoverPanic, deferred directly, turns a panic of the calling function
// into a *PanicError in *errp. It is mlrun's one way of surviving a panic:
// steps, runs and sweep trials all use it.
func recoverPanic(errp *error, where string) {
	if p := recover(); p != nil {
		stack := debug.Stack()
		if s, ok := p.(stacker); ok {
			stack = append(append(s.PanicStack(), "\nre-raised in:\n"...), stack...)
		}
		*errp = &PanicError{Where: where, Value: p, Stack: stack}
	}
}

// stacker is a panic value that carries the stack of the goroutine where
// the panic began: an estimator's worker panic, re-raised in the goroutine
// that waited for the workers, is one.
type stacker interface{ PanicStack() []byte }

// asPanic returns the *PanicError in err's chain, or nil.
func asPanic(err error) *PanicError {
	var p *PanicError
	if errors.As(err, &p) {
		return p
	}
	return nil
}
