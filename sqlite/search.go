package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Page sizes of SearchRuns, as in MLflow.
const (
	defaultMaxResults = 1000
	maxMaxResults     = 50000
)

// attributeColumns maps search attributes to columns of runs.
var attributeColumns = map[string]string{
	tracking.AttrRunID:       "r.run_id",
	tracking.AttrRunName:     "r.name",
	tracking.AttrStatus:      "r.status",
	tracking.AttrUserID:      "r.user_id",
	tracking.AttrArtifactURI: "r.artifact_uri",
	tracking.AttrStartTime:   "r.start_time",
	tracking.AttrEndTime:     "r.end_time",
	tracking.AttrDuration:    "(r.end_time - r.start_time)", // NULL while the run is not over
}

// dataTables maps the kinds stored in their own tables to those tables.
var dataTables = map[string]string{
	tracking.KindMetric: "latest_metrics",
	tracking.KindParam:  "params",
	tracking.KindTag:    "tags",
}

// SearchRuns returns the runs matching q, one page at a time. The filter and
// ordering are evaluated in the database; runs lacking a filtered metric,
// param or tag never match; missing and NaN values sort last; ties are
// broken by start_time DESC then run_id. The page token is MLflow's: base64
// of {"offset": N}.
//
// When the first ordering key is a metric, param or tag, the runs that have
// a value for it are read first, in the order of that key's index, so that
// a page of a large store costs about a page of index entries rather than a
// sort of every run; the runs lacking a value (which sort after them) are
// read only when the page reaches them.
func (s *Store) SearchRuns(ctx context.Context, q tracking.SearchRuns) ([]*tracking.Run, string, error) {
	filter, err := tracking.ParseFilter(q.Filter)
	if err != nil {
		return nil, "", err
	}
	var orders []tracking.OrderBy
	for _, o := range q.OrderBy {
		ob, err := tracking.ParseOrderBy(o)
		if err != nil {
			return nil, "", err
		}
		orders = append(orders, ob)
	}
	limit := q.MaxResults
	if limit == 0 {
		limit = defaultMaxResults
	}
	if limit < 0 || limit > maxMaxResults {
		return nil, "", errs.Errorf(errs.Invalid, "max_results %d is out of range; use 1 to %d", q.MaxResults, maxMaxResults)
	}
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	sq, err := buildSearchQuery(q.ExperimentIDs, q.ViewType, filter, orders)
	if err != nil {
		return nil, "", err
	}

	runs := []*tracking.Run{}
	more := false
	err = s.read(ctx, func(tx *sql.Tx) error {
		need := limit + 1 // one row more than a page tells whether another follows
		part, err := sq.choose(ctx, tx)
		if err != nil {
			return err
		}
		if runs, err = part.page(ctx, tx, runs, need, offset); err != nil {
			return err
		}
		if sq.rest != nil && len(runs) < need {
			// The page reaches past the ranked runs: skip what the
			// offset leaves of the rest.
			skip := 0
			if offset > 0 {
				ranked := offset + len(runs)
				if len(runs) == 0 {
					if ranked, err = part.count(ctx, tx); err != nil {
						return err
					}
				}
				skip = max(0, offset-ranked)
			}
			if runs, err = sq.rest.page(ctx, tx, runs, need-len(runs), skip); err != nil {
				return err
			}
		}
		if len(runs) > limit {
			more = true
			runs = runs[:limit]
		}
		return loadPageData(ctx, tx, runs)
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = encodePageToken(offset + limit)
	}
	return runs, next, nil
}

// searchQuery is a search translated to SQL. When the first ordering key is
// a metric, param or tag, ranked selects the runs with a (non-NaN) value for
// it and rest those without, which sort after every ranked run; otherwise
// ranked selects every matching run and rest is nil.
//
// A ranked part reads the ordering key's index in order and stops after a
// page, which beats any other plan unless the search is confined to few
// runs, by its experiments or by a filter term on another key; then reading
// those few runs and sorting them is cheaper. The probes count, up to
// selectiveRuns, the runs of the experiments and the runs matching each such
// filter term; if one finds fewer, selective (the same part, its plan left
// to SQLite) replaces ranked.
type searchQuery struct {
	ranked, rest *searchPart
	selective    *searchPart
	probes       []probe
}

// selectiveRuns is the number of matching runs under which a filter term
// drives a search ordered by another key: sorting that many runs costs about
// what reading a page of the ordering key's index does.
const selectiveRuns = 2000

// probe is a query counting the runs one filter term matches, up to
// selectiveRuns.
type probe struct {
	query string
	args  []any
}

// choose returns the part that selects the ranked runs: selective if a
// probe finds a filter term matching fewer than selectiveRuns runs.
func (sq *searchQuery) choose(ctx context.Context, tx *sql.Tx) (*searchPart, error) {
	for _, p := range sq.probes {
		var n int
		if err := tx.QueryRowContext(ctx, p.query, p.args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("search runs: %w", err)
		}
		if n < selectiveRuns {
			return sq.selective, nil
		}
	}
	return sq.ranked, nil
}

// searchPart is one SELECT of a search over runs aliased r: from holds the
// FROM, JOIN and WHERE clauses, args their bound values in order, and order
// the ORDER BY terms (which bind nothing).
type searchPart struct {
	from  string
	args  []any
	order string
}

// page appends to runs up to n runs of the part, skipping the first offset.
func (p *searchPart) page(ctx context.Context, tx *sql.Tx, runs []*tracking.Run, n, offset int) ([]*tracking.Run, error) {
	query := "SELECT " + runColumns + p.from + "\nORDER BY " + p.order + "\nLIMIT ? OFFSET ?"
	rows, err := tx.QueryContext(ctx, query, append(slices.Clip(p.args), n, offset)...)
	if err != nil {
		return nil, fmt.Errorf("search runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		info, err := scanRunInfo(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, &tracking.Run{Info: *info})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search runs: %w", err)
	}
	return runs, nil
}

// count returns how many runs the part selects.
func (p *searchPart) count(ctx context.Context, tx *sql.Tx) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*)"+p.from, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count matching runs: %w", err)
	}
	return n, nil
}

// sqlText accumulates SQL text with its bound values in placeholder order.
type sqlText struct {
	parts []string
	args  []any
}

// add appends SQL text and the values of its placeholders; empty text
// adds nothing.
func (t *sqlText) add(text string, args ...any) {
	if strings.TrimSpace(text) == "" {
		return
	}
	t.parts = append(t.parts, text)
	t.args = append(t.args, args...)
}

// join is a join of runs r with a table of metrics, params or tags: on is
// its condition and args the values bound in it.
type join struct {
	left         bool // LEFT JOIN
	table, alias string
	on           string
	args         []any
}

// buildSearchQuery translates a search into SQL over runs aliased r. Every
// value and key from the user is a bound parameter.
func buildSearchQuery(expIDs []string, view tracking.ViewType, f *tracking.Filter, orders []tracking.OrderBy) (*searchQuery, error) {
	// Conditions shared by every part: lifecycle, experiments and
	// attributes.
	var where sqlText
	var expProbe *probe // counts the runs of the experiments searched
	lifecycle, err := lifecycleCondition("r.lifecycle_stage", view)
	if err != nil {
		return nil, err
	}
	where.add(lifecycle)
	if len(expIDs) > 0 {
		marks := make([]string, len(expIDs))
		var ids []any
		for i, id := range expIDs {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, errs.Errorf(errs.Invalid, "experiment id %q is not valid; experiment ids are whole numbers such as \"0\"", id)
			}
			marks[i] = "?"
			ids = append(ids, n)
		}
		where.add("r.experiment_id IN ("+strings.Join(marks, ", ")+")", ids...)
		expProbe = &probe{
			query: "SELECT COUNT(*) FROM (SELECT 1 FROM runs r WHERE r.experiment_id IN (" + strings.Join(marks, ", ") + ") AND " + lifecycle + " LIMIT ?)",
			args:  append(slices.Clone(ids), selectiveRuns),
		}
	}
	for _, c := range f.Clauses {
		if c.Kind != tracking.KindAttribute {
			continue
		}
		cond, cargs := compare(attributeColumns[c.Key], c)
		where.add(cond, cargs...)
	}

	// One inner join per metric, param or tag the filter names.
	var joins []join
	filterJoin := map[string]int{} // kind NUL key → index of its join
	nanPasses := map[string]bool{} // alias → its condition lets a NaN through
	for i, c := range f.Clauses {
		if c.Kind == tracking.KindAttribute {
			continue
		}
		alias := "f" + strconv.Itoa(i)
		cond, cargs, nan := valueCondition(alias, c)
		nanPasses[alias] = nan
		filterJoin[c.Kind+"\x00"+c.Key] = len(joins)
		joins = append(joins, join{table: dataTables[c.Kind], alias: alias,
			on: alias + ".key = ? AND " + cond, args: append([]any{c.Key}, cargs...)})
	}

	// Ordering by a metric, param or tag that the filter already joins
	// reuses that join; otherwise a LEFT JOIN keeps runs that lack the key.
	// The first key, if not an attribute, is handled by splitting the
	// search instead (below).
	var orderJoins []join
	var orderBy []string
	first := 0
	if len(orders) > 0 && orders[0].Kind != tracking.KindAttribute {
		first = 1
	}
	for i, o := range orders[first:] {
		dir := direction(o)
		if o.Kind == tracking.KindAttribute && o.Key == tracking.AttrStartTime && o.Desc && first+i == len(orders)-1 {
			// The last key is the tie-breakers' own first one (MLflow's
			// UI names it): left to them, so that the plan can read
			// runs_by_start_time rather than sort every run.
			continue
		}
		if o.Kind == tracking.KindAttribute {
			col := attributeColumns[o.Key]
			if o.Key == tracking.AttrEndTime || o.Key == tracking.AttrDuration {
				// Runs not over (no end time) sort last either way.
				orderBy = append(orderBy, col+" IS NULL")
			}
			orderBy = append(orderBy, col+dir)
			continue
		}
		var alias string
		if j, ok := filterJoin[o.Kind+"\x00"+o.Key]; ok {
			alias = joins[j].alias
		} else {
			alias = "o" + strconv.Itoa(first+i)
			orderJoins = append(orderJoins, join{left: true, table: dataTables[o.Kind], alias: alias, on: alias + ".key = ?", args: []any{o.Key}})
		}
		if o.Kind == tracking.KindMetric {
			// Missing (NULL) and NaN (is_nan 1) sort last either way, tied
			// with each other.
			orderBy = append(orderBy, alias+".is_nan IS NOT 0",
				"CASE WHEN "+alias+".is_nan = 0 THEN "+alias+".value END"+dir)
		} else {
			orderBy = append(orderBy, alias+".value IS NULL", alias+".value"+dir)
		}
	}
	orderBy = append(orderBy, "r.start_time DESC", "r.run_id ASC")

	// part assembles one SELECT of the filter's and the order's joins,
	// extra (the first ordering key's join, or none), the shared
	// conditions and cond. With drive, the table of extra is read first:
	// SQLite keeps the left table of a CROSS JOIN outermost.
	part := func(extra *join, drive bool, cond sqlText, order []string) *searchPart {
		all := slices.Concat(joins, orderJoins)
		var t, w sqlText
		if extra != nil && drive {
			t.add(" FROM " + extra.table + " " + extra.alias + " CROSS JOIN runs r")
			w.add(extra.alias+".run_id = r.run_id AND "+extra.on, extra.args...)
		} else {
			t.add(" FROM runs r")
			if extra != nil {
				all = slices.Insert(all, 0, *extra)
			}
		}
		for _, j := range all {
			kw := "JOIN"
			if j.left {
				kw = "LEFT JOIN"
			}
			t.add("\n"+kw+" "+j.table+" "+j.alias+" ON "+j.alias+".run_id = r.run_id AND "+j.on, j.args...)
		}
		w.add(strings.Join(where.parts, " AND "), where.args...)
		w.add(strings.Join(cond.parts, " AND "), cond.args...)
		t.add("\nWHERE "+strings.Join(w.parts, " AND "), w.args...)
		return &searchPart{from: strings.Join(t.parts, ""), args: t.args, order: strings.Join(append(order, orderBy...), ", ")}
	}
	if first == 0 {
		return &searchQuery{ranked: part(nil, false, sqlText{}, nil)}, nil
	}

	// The first key splits the search: the runs with a value for it, in
	// the order of the key's index (key, [is_nan,] value), then the rest.
	o := orders[0]
	var rankedCond, restCond sqlText
	var extra *join
	if j, ok := filterJoin[o.Kind+"\x00"+o.Key]; ok {
		// Every matching run has the key; only a metric whose filter lets
		// NaN through has a rest. The ranked part reads that join first.
		jn := joins[j]
		joins = slices.Delete(slices.Clone(joins), j, j+1)
		extra = &jn
		if nanPasses[jn.alias] {
			rankedCond.add(jn.alias + ".is_nan = 0")
			restCond.add(jn.alias + ".is_nan = 1")
		}
	} else {
		alias := "o0"
		has := alias + ".key = ?"
		if o.Kind == tracking.KindMetric {
			has += " AND " + alias + ".is_nan = 0"
		}
		extra = &join{table: dataTables[o.Kind], alias: alias, on: has, args: []any{o.Key}}
		restCond.add("NOT EXISTS (SELECT 1 FROM "+extra.table+" "+alias+" WHERE "+alias+".run_id = r.run_id AND "+has+")", o.Key)
	}
	rankedOrder := []string{extra.alias + ".value" + direction(o)}
	sq := &searchQuery{ranked: part(extra, true, rankedCond, rankedOrder)}
	if len(restCond.parts) > 0 {
		if _, ok := filterJoin[o.Kind+"\x00"+o.Key]; ok {
			sq.rest = part(extra, false, restCond, nil)
		} else {
			sq.rest = part(nil, false, restCond, nil) // no join with the key it lacks
		}
	}
	// Probe the experiments (a small one in a large store is read whole)
	// and the filter terms on other keys.
	if expProbe != nil {
		sq.probes = append(sq.probes, *expProbe)
	}
	for _, c := range f.Clauses {
		if c.Kind == tracking.KindAttribute || (c.Kind == o.Kind && c.Key == o.Key) {
			continue
		}
		cond, cargs, _ := valueCondition("x", c)
		sq.probes = append(sq.probes, probe{
			query: "SELECT COUNT(*) FROM (SELECT 1 FROM " + dataTables[c.Kind] + " x WHERE x.key = ? AND " + cond + " LIMIT ?)",
			args:  slices.Concat([]any{c.Key}, cargs, []any{selectiveRuns}),
		})
	}
	if len(sq.probes) > 0 {
		sq.selective = part(extra, false, rankedCond, rankedOrder)
	}
	return sq, nil
}

// valueCondition returns the condition a filter term puts on the value
// column of the metric, param or tag table aliased alias, its bound values,
// and whether it lets a NaN metric through.
func valueCondition(alias string, c tracking.Clause) (string, []any, bool) {
	cond, args := compare(alias+".value", c)
	if c.Kind != tracking.KindMetric {
		return cond, args, false
	}
	// A NaN is stored as value 0 with is_nan 1: it equals nothing and
	// differs from everything.
	if c.Op == "!=" {
		return "(" + alias + ".is_nan = 1 OR " + cond + ")", args, true
	}
	return alias + ".is_nan = 0 AND " + cond, args, false
}

// direction returns the SQL direction of an ordering term.
func direction(o tracking.OrderBy) string {
	if o.Desc {
		return " DESC"
	}
	return " ASC"
}

// compare returns the SQL comparing column with a clause's value, and the
// bound arguments. LIKE is case-sensitive, as in MLflow, so it becomes GLOB;
// ILIKE uses SQLite's LIKE, which ignores ASCII case.
func compare(column string, c tracking.Clause) (string, []any) {
	switch c.Op {
	case "LIKE":
		return column + " GLOB ?", []any{likeToGlob(c.Str)}
	case "ILIKE":
		return column + " LIKE ?", []any{c.Str}
	case "IN", "NOT IN":
		marks := make([]string, len(c.List))
		args := make([]any, len(c.List))
		for i, v := range c.List {
			marks[i] = "?"
			args[i] = v
		}
		return column + " " + c.Op + " (" + strings.Join(marks, ", ") + ")", args
	}
	if c.Numeric() {
		return column + " " + c.Op + " ?", []any{c.Num}
	}
	return column + " " + c.Op + " ?", []any{c.Str}
}

// likeToGlob turns a LIKE pattern (% any run, _ any one character) into an
// equivalent GLOB pattern, escaping GLOB's own special characters.
func likeToGlob(like string) string {
	var b strings.Builder
	for _, r := range like {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pageToken is the decoded form of a SearchRuns page token.
type pageToken struct {
	Offset int `json:"offset"`
}

// encodePageToken returns the token of the page starting at offset.
func encodePageToken(offset int) string {
	b, _ := json.Marshal(pageToken{Offset: offset}) // cannot fail
	return base64.StdEncoding.EncodeToString(b)
}

// decodePageToken returns the offset a page token names ("" is 0).
func decodePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(tok)
	}
	var pt pageToken
	if err != nil || json.Unmarshal(raw, &pt) != nil || pt.Offset < 0 {
		return 0, errs.Errorf(errs.Invalid, "page token %q is not valid; pass the next_page_token of a previous search unchanged", tok)
	}
	return pt.Offset, nil
}
