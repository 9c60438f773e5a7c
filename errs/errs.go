// Package errs holds mlrun's one application error type.
//
// Every error a user may see carries a Code. The CLI maps the code to an
// exit status and prints only the Message; HTTP servers map it to a status
// and a JSON body {"error_code": ..., "message": ...}. Errors without an
// *Error in their chain are internal: their text is wrapped context meant
// for developers, and users see it prefixed with "internal error:".
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Their string values are MLflow's error_code names so that an
// MLflow-compatible REST layer can return them unchanged.
const (
	Invalid  = "INVALID_PARAMETER_VALUE" // bad input from the user
	NotFound = "RESOURCE_DOES_NOT_EXIST" // a named thing does not exist
	Conflict = "RESOURCE_ALREADY_EXISTS" // a unique thing exists already
	Failed   = "RUN_FAILED"              // the user's work ran and failed
	Killed   = "CANCELLED"               // stopped by a signal or Ctrl-C
	Internal = "INTERNAL_ERROR"          // a bug or an environment fault
)

// Error is an error meant for the user: Message is one clear sentence.
// Err, when set, is the underlying cause, kept for errors.Is/As.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error returns the message meant for the user.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message. A %w
// verb in format keeps the wrapped error as the cause.
func Errorf(code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Code returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Message returns the user-facing message of err: the message of the first
// *Error in its chain, or "internal error: " and the full text otherwise.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error: " + err.Error()
}

// HTTPStatus maps an error code to an HTTP status.
func HTTPStatus(code string) int {
	switch code {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusBadRequest // MLflow answers RESOURCE_ALREADY_EXISTS with 400
	case Killed:
		return 499
	default:
		return http.StatusInternalServerError
	}
}

// ExitCode maps an error code to a process exit status: 0 for no error,
// 1 for a failed run, 2 for bad input, 3 for a missing resource,
// 130 for an interrupted run and 70 (EX_SOFTWARE) for internal errors.
func ExitCode(code string) int {
	switch code {
	case "":
		return 0
	case Failed:
		return 1
	case Invalid, Conflict:
		return 2
	case NotFound:
		return 3
	case Killed:
		return 130
	default:
		return 70
	}
}
