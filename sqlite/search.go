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
		runs, err = sq.ranked.page(ctx, tx, runs, need, offset)
		if err != nil {
			return err
		}
		if sq.rest != nil && len(runs) < need {
			// The page reaches past the ranked runs: skip what the
			// offset leaves of the rest.
			skip := 0
			if offset > 0 {
				ranked := offset + len(runs)
				if len(runs) == 0 {
					if ranked, err = sq.ranked.count(ctx, tx); err != nil {
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
		return loadRunData(ctx, tx, runs)
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
type searchQuery struct {
	ranked, rest *searchPart
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

// buildSearchQuery translates a search into SQL over runs aliased r. Every
// value and key from the user is a bound parameter.
func buildSearchQuery(expIDs []string, view tracking.ViewType, f *tracking.Filter, orders []tracking.OrderBy) (*searchQuery, error) {
	// Conditions shared by every part: lifecycle, experiments and
	// attributes.
	var where sqlText
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
	}
	for _, c := range f.Clauses {
		if c.Kind != tracking.KindAttribute {
			continue
		}
		cond, cargs := compare(attributeColumns[c.Key], c)
		where.add(cond, cargs...)
	}

	// One inner join per metric, param or tag the filter names.
	var joins sqlText
	filterAlias := map[string]string{} // kind NUL key → alias of its join
	nanPasses := map[string]bool{}     // alias → its condition lets a NaN through
	for i, c := range f.Clauses {
		if c.Kind == tracking.KindAttribute {
			continue
		}
		alias := "f" + strconv.Itoa(i)
		filterAlias[c.Kind+"\x00"+c.Key] = alias
		cond, cargs := compare(alias+".value", c)
		if c.Kind == tracking.KindMetric {
			// A NaN is stored as value 0 with is_nan 1: it equals nothing
			// and differs from everything.
			if c.Op == "!=" {
				cond = "(" + alias + ".is_nan = 1 OR " + cond + ")"
				nanPasses[alias] = true
			} else {
				cond = alias + ".is_nan = 0 AND " + cond
			}
		}
		joins.add(fmt.Sprintf("JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ? AND %s",
			dataTables[c.Kind], alias, alias, alias, cond), append([]any{c.Key}, cargs...)...)
	}

	// Ordering by a metric, param or tag that the filter already joins
	// reuses that join; otherwise a LEFT JOIN keeps runs that lack the key.
	// The first key, if not an attribute, is handled by splitting the
	// search instead (below).
	var orderJoins sqlText
	var orderBy []string
	first := 0
	if len(orders) > 0 && orders[0].Kind != tracking.KindAttribute {
		first = 1
	}
	for i, o := range orders[first:] {
		dir := direction(o)
		if o.Kind == tracking.KindAttribute {
			col := attributeColumns[o.Key]
			if o.Key == tracking.AttrEndTime {
				orderBy = append(orderBy, col+" IS NULL")
			}
			orderBy = append(orderBy, col+dir)
			continue
		}
		alias := filterAlias[o.Kind+"\x00"+o.Key]
		if alias == "" {
			alias = "o" + strconv.Itoa(first+i)
			orderJoins.add(fmt.Sprintf("LEFT JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ?",
				dataTables[o.Kind], alias, alias, alias), o.Key)
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

	// part assembles one SELECT from the shared pieces and its own.
	part := func(join, cond sqlText, order []string) *searchPart {
		var t sqlText
		t.add(" FROM runs r")
		t.add("\n"+strings.Join(joins.parts, "\n"), joins.args...)
		t.add("\n"+strings.Join(join.parts, "\n"), join.args...)
		t.add("\n"+strings.Join(orderJoins.parts, "\n"), orderJoins.args...)
		t.add("\nWHERE "+strings.Join(append(slices.Clip(where.parts), cond.parts...), " AND "), append(slices.Clip(where.args), cond.args...)...)
		return &searchPart{from: strings.Join(t.parts, ""), args: t.args, order: strings.Join(append(order, orderBy...), ", ")}
	}
	if first == 0 {
		return &searchQuery{ranked: part(sqlText{}, sqlText{}, nil)}, nil
	}

	// The first key splits the search: the runs with a value for it, in
	// the order of the key's index (key, [is_nan,] value), then the rest.
	o := orders[0]
	var rankedJoin, rankedCond, restCond sqlText
	alias := filterAlias[o.Kind+"\x00"+o.Key]
	if alias != "" {
		// Every matching run has the key; only a metric whose filter lets
		// NaN through has a rest.
		if nanPasses[alias] {
			rankedCond.add(alias + ".is_nan = 0")
			restCond.add(alias + ".is_nan = 1")
		}
	} else {
		alias = "o0"
		has := alias + ".run_id = r.run_id AND " + alias + ".key = ?"
		if o.Kind == tracking.KindMetric {
			has += " AND " + alias + ".is_nan = 0"
		}
		rankedJoin.add("JOIN "+dataTables[o.Kind]+" "+alias+" ON "+has, o.Key)
		restCond.add("NOT EXISTS (SELECT 1 FROM "+dataTables[o.Kind]+" "+alias+" WHERE "+has+")", o.Key)
	}
	sq := &searchQuery{ranked: part(rankedJoin, rankedCond, []string{alias + ".value" + direction(o)})}
	if len(restCond.parts) > 0 {
		sq.rest = part(sqlText{}, restCond, nil)
	}
	return sq, nil
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
