// Package sqlstore holds what the SQL stores (sqlite, postgres) share
// beyond the tracking contract: their common table layout, and copying a
// whole store from one database to another with a verification of counts
// and checksums (`mlrun db copy`).
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// DB is a store that lives in a SQL database with mlrun's tables.
type DB interface {
	// DB returns the database handle; writes through it bypass the store.
	DB() *sql.DB
	// Dialect is "sqlite" or "postgres".
	Dialect() string
}

// Table is one table to copy, in an order that respects foreign keys.
type Table struct {
	Name string
	Key  string // ORDER BY for reading and checksums
}

// Tables are mlrun's tables, parents before children.
var Tables = []Table{
	{"experiments", "experiment_id"},
	{"experiment_tags", "experiment_id, key"},
	{"runs", "run_id"},
	{"params", "run_id, key"},
	{"tags", "run_id, key"},
	{"metrics", "run_id, key, step, timestamp, value, is_nan"},
	{"latest_metrics", "run_id, key"},
	{"registered_models", "name"},
	{"registered_model_tags", "name, key"},
	{"model_versions", "name, version"},
	{"model_version_tags", "name, version, key"},
	{"registered_model_aliases", "name, alias"},
	{"schedules", "name"},
	{"schedule_fires", "name, fire_time"},
	{"step_cache", "cache_key"},
}

// boolColumns are the columns PostgreSQL keeps as BOOLEAN and SQLite as 0/1.
var boolColumns = map[string]bool{"schedules.paused": true}

// Summary is one table's row count and checksum.
type Summary struct {
	Table    string
	Rows     int
	Checksum string // sha256 of the rows in key order, values canonicalised
}

// Copy copies every row of every table from src to dst, in one
// transaction on dst. dst must hold no runs, models or schedules and no
// experiment but Default (which is replaced by src's). It returns the
// per-table summaries of both sides, after checking that they agree.
func Copy(ctx context.Context, src, dst DB) ([]Summary, error) {
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	tx, err := dst.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin copy: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM experiments`); err != nil {
		return nil, fmt.Errorf("clear the destination's experiments: %w", err)
	}
	for _, t := range Tables {
		if err := copyTable(ctx, src, dst, tx, t); err != nil {
			return nil, err
		}
	}
	if dst.Dialect() == "postgres" {
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'),
			GREATEST((SELECT MAX(experiment_id) FROM experiments), 1))`); err != nil {
			return nil, fmt.Errorf("move the experiment id sequence on: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit copy: %w", err)
	}
	return Verify(ctx, src, dst)
}

// Verify compares every table's row count and checksum in src and dst and
// returns src's summaries, or an error naming the first table that
// differs.
func Verify(ctx context.Context, src, dst DB) ([]Summary, error) {
	from, err := Summarize(ctx, src)
	if err != nil {
		return nil, err
	}
	to, err := Summarize(ctx, dst)
	if err != nil {
		return nil, err
	}
	for i := range from {
		if from[i] != to[i] {
			return from, fmt.Errorf("table %s differs after the copy: %d rows (%s) in the source, %d (%s) in the destination",
				from[i].Table, from[i].Rows, from[i].Checksum[:12], to[i].Rows, to[i].Checksum[:12])
		}
	}
	return from, nil
}

// checkEmpty refuses a destination that holds anything.
func checkEmpty(ctx context.Context, dst DB) error {
	for _, q := range []struct{ what, sql string }{
		{"runs", `SELECT COUNT(*) FROM runs`},
		{"registered models", `SELECT COUNT(*) FROM registered_models`},
		{"schedules", `SELECT COUNT(*) FROM schedules`},
		{"experiments other than Default", `SELECT COUNT(*) FROM experiments WHERE experiment_id <> 0`},
	} {
		var n int
		if err := dst.DB().QueryRowContext(ctx, q.sql).Scan(&n); err != nil {
			return fmt.Errorf("inspect the destination: %w", err)
		}
		if n > 0 {
			return errs.Errorf(errs.Invalid, "the destination store holds %d %s; copy into a new, empty store", n, q.what)
		}
	}
	return nil
}

// copyTable streams one table's rows into dst.
func copyTable(ctx context.Context, src, dst DB, tx *sql.Tx, t Table) error {
	rows, err := src.DB().QueryContext(ctx, `SELECT * FROM `+t.Name+` ORDER BY `+t.Key)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("read %s: %w", t.Name, err)
	}
	marks := make([]string, len(cols))
	for i := range cols {
		marks[i] = "?"
		if dst.Dialect() == "postgres" {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+t.Name+` (`+strings.Join(cols, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`)`)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", t.Name, err)
	}
	defer stmt.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", t.Name, err)
		}
		args := make([]any, len(vals))
		for i, v := range vals {
			args[i] = convert(v, boolColumns[t.Name+"."+cols[i]], dst.Dialect())
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("write %s: %w", t.Name, err)
		}
	}
	return rows.Err()
}

// convert adapts a value read from one database to the other: booleans
// kept as 0/1 by SQLite, and text SQLite returned as bytes.
func convert(v any, boolean bool, dialect string) any {
	if boolean {
		b := false
		switch x := v.(type) {
		case bool:
			b = x
		case int64:
			b = x != 0
		}
		if dialect == "postgres" {
			return b
		}
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// Summarize returns every table's row count and checksum. Values are
// canonicalised (numbers, booleans as 0/1, text and bytes as their
// content) so that the same data gives the same checksum in either
// database.
func Summarize(ctx context.Context, st DB) ([]Summary, error) {
	var out []Summary
	for _, t := range Tables {
		rows, err := st.DB().QueryContext(ctx, `SELECT * FROM `+t.Name+` ORDER BY `+t.Key)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		h := sha256.New()
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", t.Name, err)
			}
			for _, v := range vals {
				fmt.Fprintf(h, "%s\x1f", canonical(v))
			}
			h.Write([]byte{'\x1e'})
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		out = append(out, Summary{Table: t.Name, Rows: n, Checksum: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x00"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return string(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
