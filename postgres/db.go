package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// pool is the connection pool; its query methods number '?' placeholders.
type pool struct{ *sql.DB }

// ExecContext runs a statement written with '?' placeholders.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, rebind(query), args...)
}

// QueryContext runs a query written with '?' placeholders.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, rebind(query), args...)
}

// QueryRowContext runs a query written with '?' placeholders.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, rebind(query), args...)
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
