package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryableBeginOnClosedConnection: a transaction that could not begin
// because its connection was closed is run again, and so is one whose
// commit pgx never sent (it failed to clear its statement cache on a
// connection the server dropped when it restarted), while a connection
// closed after the commit was sent, when the transaction may have
// committed, is not; a cancelled begin is not either.
func TestRetryableBeginOnClosedConnection(t *testing.T) {
	notSent := fmt.Errorf("failed to deallocate cached statement(s): %w", pgconn.ErrConnClosed)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"begin, connection closed", &beginError{unavailable("dsn", "begin write transaction", pgconn.ErrConnClosed)}, true},
		{"begin, not sent", &beginError{unavailable("dsn", "begin write transaction", notSent)}, true},
		{"commit, not sent", unavailable("dsn", "commit", notSent), true},
		{"commit, connection closed", unavailable("dsn", "commit", pgconn.ErrConnClosed), false},
		{"begin, cancelled", &beginError{unavailable("dsn", "begin write transaction", context.Canceled)}, false},
		{"begin, other failure", &beginError{errors.New("something else")}, false},
	}
	for _, c := range cases {
		if got := retryable(c.err); got != c.want {
			t.Errorf("%s: retryable = %v, want %v", c.name, got, c.want)
		}
	}
}
