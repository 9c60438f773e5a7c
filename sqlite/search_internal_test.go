package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// TestSearchQueryBindsUserValues checks that no key or value from a filter
// or order_by reaches the SQL text: they must all be bound parameters.
func TestSearchQueryBindsUserValues(t *testing.T) {
	const mark = "zq9"
	f, err := tracking.ParseFilter(`metrics."` + mark + `m" > 1 and params.` + mark + `p LIKE '` + mark + `%' and tags.` + mark +
		`t ILIKE '` + mark + `' and run_id IN ('` + mark + `a', '` + mark + `b') and user_id = '` + mark + `'' OR 1=1 --'`)
	if err != nil {
		t.Fatal(err)
	}
	var orders []tracking.OrderBy
	for _, o := range []string{"metrics." + mark + "o DESC", "params." + mark + "q", "tags." + mark + "r"} {
		ob, err := tracking.ParseOrderBy(o)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, ob)
	}
	sq, err := buildSearchQuery([]string{"3"}, tracking.All, f, orders)
	if err != nil {
		t.Fatal(err)
	}
	if sq.rest == nil {
		t.Fatal("a search ordered by a metric the filter does not name has no rest part")
	}
	for _, p := range []*searchPart{sq.ranked, sq.rest} {
		query := p.from + p.order
		if strings.Contains(query, mark) {
			t.Fatalf("a user value reached the SQL text:\n%s", query)
		}
		if got, want := strings.Count(query, "?"), len(p.args); got != want {
			t.Fatalf("query has %d placeholders but %d args:\n%s", got, want, query)
		}
		joined := fmt.Sprint(p.args...)
		for _, v := range []string{mark + "m", mark + "p", mark + "*", mark + "t", mark + "a", mark + "b", mark + "' OR 1=1 --", mark + "o", mark + "q", mark + "r"} {
			if !strings.Contains(joined, v) {
				t.Errorf("args %v lack %q", p.args, v)
			}
		}
	}
}

func TestLikeToGlob(t *testing.T) {
	tests := []struct{ like, glob string }{
		{"abc", "abc"},
		{"a%", "a*"},
		{"a_c", "a?c"},
		{"*?[]", "[*][?][[]]"},
		{"%ü_", "*ü?"},
	}
	for _, tt := range tests {
		if got := likeToGlob(tt.like); got != tt.glob {
			t.Errorf("likeToGlob(%q) = %q, want %q", tt.like, got, tt.glob)
		}
	}
}

// TestSearchPlansReadIndexesInOrder checks, with EXPLAIN QUERY PLAN on a
// store of 3,000 analyzed runs, that a page of a search ordered by a metric
// or a param, or in the default order, is read from an index in that order
// (SQLite may sort ties, "LAST n TERMS", but never sorts every matching
// run): what keeps a page of a 100,000-run store to milliseconds. A filter
// that matches few runs is the exception: those are read and sorted.
func TestSearchPlansReadIndexesInOrder(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i := range 3000 {
			id := fmt.Sprintf("%032x", i*7919%3001)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO runs (run_id, name, experiment_id, status, start_time, artifact_uri) VALUES (?, 'r', 0, 'FINISHED', ?, '')`, []any{id, i}},
				{`INSERT INTO params (run_id, key, value) VALUES (?, 'C', ?), (?, 'model', 'svc')`, []any{id, strconv.Itoa(i % 10), id}},
				{`INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES (?, 'acc', 0, 0, ?), (?, 'f1', 0, 0, ?)`, []any{id, float64(i%997) / 997, id, float64(i%13) / 13}},
			} {
				if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
					return err
				}
			}
		}
		// A small experiment beside the big one.
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, last_update_time) VALUES (1, 'small', '', 0, 0)`); err != nil {
			return err
		}
		for i := range 10 {
			id := fmt.Sprintf("%032x", 100000+i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO runs (run_id, name, experiment_id, status, start_time, artifact_uri) VALUES (?, 'r', 1, 'FINISHED', ?, '')`, id, i); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES (?, 'acc', 0, 0, ?)`, id, float64(i)/10); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `ANALYZE`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter, order string
		index         string // the index the ranked part must read; "" for the selective part
		exps          []string
	}{
		{"", "", "runs_by_start_time", nil},
		// MLflow's UI names the default order explicitly.
		{"", "attributes.start_time DESC", "runs_by_start_time", nil},
		{"", "start_time DESC", "runs_by_start_time", nil},
		{"", "metrics.acc DESC", "latest_metrics_by_key_value", nil},
		{"", "metrics.acc", "latest_metrics_by_key_value", nil},
		{"metrics.acc > 0.5 and params.model = 'svc'", "metrics.acc DESC", "latest_metrics_by_key_value", nil},
		{"params.model = 'svc'", "params.C DESC", "params_by_key_value", nil},
		// A tenth of the runs: selective, so read those and sort them.
		{"params.C = '1'", "metrics.acc DESC", "", nil},
		// The big experiment is read in order, the small one whole.
		{"", "metrics.acc DESC", "latest_metrics_by_key_value", []string{"0"}},
		{"", "metrics.acc DESC", "", []string{"1"}},
	}
	for _, tt := range tests {
		f, err := tracking.ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var orders []tracking.OrderBy
		if tt.order != "" {
			o, err := tracking.ParseOrderBy(tt.order)
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
		}
		sq, err := buildSearchQuery(tt.exps, tracking.ActiveOnly, f, orders)
		if err != nil {
			t.Fatal(err)
		}
		var ranked *searchPart
		err = s.read(ctx, func(tx *sql.Tx) error {
			ranked, err = sq.choose(ctx, tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if (tt.index == "") != (ranked == sq.selective) {
			t.Errorf("filter %q order %q experiments %v: selective part chosen: %v, want %v", tt.filter, tt.order, tt.exps, ranked == sq.selective, tt.index == "")
			continue
		}
		if tt.index == "" {
			continue
		}
		parts := []*searchPart{ranked}
		if sq.rest != nil && tt.filter == "" {
			// Without a filter, the runs lacking the key are read in
			// the default order too.
			parts = append(parts, sq.rest)
		}
		for i, p := range parts {
			rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT "+runColumns+p.from+" ORDER BY "+p.order+" LIMIT 100", p.args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			text := strings.Join(plan, "; ")
			want := tt.index
			if i == 1 {
				want = "USING INDEX runs_by_" // the rest, in the default order
			}
			if !strings.Contains(text, want) || strings.Contains(text, "USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("filter %q order %q, part %d: plan %q does not read %s in order", tt.filter, tt.order, i, text, want)
			}
		}
	}
}
