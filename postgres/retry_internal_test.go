package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryableBeginOnClosedConnection: a transaction that could not begin
// because its connection was closed (pgx clearing its statement cache on a
// connection the server dropped when it restarted) is run again, while
// the same error at commit, where the transaction may have committed, is
// not; a cancelled begin is not either.
func TestRetryableBeginOnClosedConnection(t *testing.T) {
	closed := fmt.Errorf("failed to deallocate cached statement(s): %w", pgconn.ErrConnClosed)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"begin, connection closed", &beginError{unavailable("dsn", "begin write transaction", closed)}, true},
		{"commit, connection closed", unavailable("dsn", "commit", closed), false},
		{"begin, cancelled", &beginError{unavailable("dsn", "begin write transaction", context.Canceled)}, false},
		{"begin, other failure", &beginError{errors.New("something else")}, false},
	}
	for _, c := range cases {
		if got := retryable(c.err); got != c.want {
			t.Errorf("%s: retryable = %v, want %v", c.name, got, c.want)
		}
	}
}
