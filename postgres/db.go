package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// pool is the connection pool; its query methods number '?' placeholders,
// and send a statement again, on another connection, when pgx could not
// send it on the one it took (see notSent).
type pool struct{ *sql.DB }

// sendAttempts bounds how often pool sends one statement that pgx could
// not send: each failure closes the connection it was tried on, so this
// is how many dropped connections one statement gets past.
const sendAttempts = 20

// ExecContext runs a statement written with '?' placeholders.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = rebind(query)
	return resend(ctx, func() (sql.Result, error) { return p.DB.ExecContext(ctx, query, args...) })
}

// QueryContext runs a query written with '?' placeholders.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = rebind(query)
	return resend(ctx, func() (*sql.Rows, error) { return p.DB.QueryContext(ctx, query, args...) })
}

// QueryRowContext runs a query written with '?' placeholders.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = rebind(query)
	row, _ := resend(ctx, func() (*sql.Row, error) {
		row := p.DB.QueryRowContext(ctx, query, args...)
		return row, row.Err()
	})
	return row
}

// resend calls send, which sends one statement, again while pgx could not
// send it (see notSent), at most sendAttempts times.
func resend[T any](ctx context.Context, send func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := send()
		if n == sendAttempts || !notSent(err) || ctx.Err() != nil {
			return v, err
		}
	}
}

// notSent reports whether err is pgx failing to deallocate the prepared
// statements it had cached on a connection, which it does before it sends
// the next statement there, so that statement was never sent. (This is
// how a connection that the server dropped, in a restart, shows when pgx
// had such statements: a statement failed on it before.) pgx gives this
// failure no type of its own, only its message.
func notSent(err error) bool {
	return err != nil && strings.Contains(err.Error(), "failed to deallocate cached statement(s)")
}

// txn is a transaction whose query methods number '?' placeholders.
type txn struct{ tx *sql.Tx }

// ExecContext runs a statement written with '?' placeholders.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, rebind(query), args...)
}

// QueryContext runs a query written with '?' placeholders.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(query), args...)
}

// QueryRowContext runs a query written with '?' placeholders.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, rebind(query), args...)
}

// PrepareContext prepares a statement written with '?' placeholders.
func (t *txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, rebind(query))
}

// querier is what pool and txn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebind numbers the '?' placeholders of query ($1, $2, ...), leaving
// those inside quoted strings and identifiers alone.
func rebind(query string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
