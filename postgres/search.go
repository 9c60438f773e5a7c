package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	query, args, err := buildSearchQuery(q.ExperimentIDs, q.ViewType, filter, orders)
	if err != nil {
		return nil, "", err
	}
	query += ` LIMIT ? OFFSET ?`
	args = append(args, limit+1, offset)

	runs := []*tracking.Run{}
	more := false
	err = s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("search runs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			info, err := scanRunInfo(rows)
			if err != nil {
				return err
			}
			runs = append(runs, &tracking.Run{Info: *info})
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("search runs: %w", err)
		}
		rows.Close()
		if len(runs) > limit { // the query fetched one row more than a page
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

// buildSearchQuery translates a search into SQL over runs aliased r. Every
// value and key from the user is a bound parameter.
func buildSearchQuery(expIDs []string, view tracking.ViewType, f *tracking.Filter, orders []tracking.OrderBy) (string, []any, error) {
	var joins, where, orderBy []string
	var args []any // in the order their placeholders appear: joins, where, order

	var joinArgs []any
	filterAlias := map[string]string{} // kind NUL key → alias of its join
	nanFree := map[string]bool{}       // aliases whose join excludes NaN points
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
			} else {
				cond = alias + ".is_nan = 0 AND " + cond
				nanFree[alias] = true
			}
		}
		joins = append(joins, fmt.Sprintf("JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ? AND %s",
			dataTables[c.Kind], alias, alias, alias, cond))
		joinArgs = append(joinArgs, c.Key)
		joinArgs = append(joinArgs, cargs...)
	}

	var orderJoinArgs []any
	for i, o := range orders {
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
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
		// Ordering by a metric, param or tag that the filter already
		// joins reuses that join; otherwise a LEFT JOIN keeps runs that
		// lack the key.
		alias := filterAlias[o.Kind+"\x00"+o.Key]
		if alias == "" {
			alias = "o" + strconv.Itoa(i)
			joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ?",
				dataTables[o.Kind], alias, alias, alias))
			orderJoinArgs = append(orderJoinArgs, o.Key)
		}
		if o.Kind == tracking.KindMetric && nanFree[alias] {
			// The filter's inner join leaves only numbers: order by the
			// value alone, so that PostgreSQL can read the index of
			// (key, is_nan, value) in order and stop after a page.
			orderBy = append(orderBy, alias+".value"+dir)
		} else if o.Kind == tracking.KindMetric {
			// Missing (NULL) and NaN (is_nan 1) sort last either way, tied
			// with each other.
			orderBy = append(orderBy, alias+".is_nan IS DISTINCT FROM 0",
				"CASE WHEN "+alias+".is_nan = 0 THEN "+alias+".value END"+dir)
		} else {
			orderBy = append(orderBy, alias+".value IS NULL", alias+".value"+dir)
		}
	}
	orderBy = append(orderBy, "r.start_time DESC", "r.run_id ASC")

	lifecycle, err := lifecycleCondition("r.lifecycle_stage", view)
	if err != nil {
		return "", nil, err
	}
	where = append(where, lifecycle)
	var whereArgs []any
	if len(expIDs) > 0 {
		marks := make([]string, len(expIDs))
		for i, id := range expIDs {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return "", nil, errs.Errorf(errs.Invalid, "experiment id %q is not valid; experiment ids are whole numbers such as \"0\"", id)
			}
			marks[i] = "?"
			whereArgs = append(whereArgs, n)
		}
		where = append(where, "r.experiment_id IN ("+strings.Join(marks, ", ")+")")
	}
	for _, c := range f.Clauses {
		if c.Kind != tracking.KindAttribute {
			continue
		}
		cond, cargs := compare(attributeColumns[c.Key], c)
		where = append(where, cond)
		whereArgs = append(whereArgs, cargs...)
	}

	// Filter joins come first in the text, then order-by joins.
	args = append(args, joinArgs...)
	args = append(args, orderJoinArgs...)
	args = append(args, whereArgs...)
	query := "SELECT " + runColumns + " FROM runs r"
	for _, j := range joins {
		query += "\n" + j
	}
	query += "\nWHERE " + strings.Join(where, " AND ")
	query += "\nORDER BY " + strings.Join(orderBy, ", ")
	return query, args, nil
}

// compare returns the SQL comparing column with a clause's value, and the
// bound arguments. PostgreSQL's LIKE is case-sensitive and its ILIKE is
// not, as in MLflow; the column's "C" collation makes comparisons bytewise.
func compare(column string, c tracking.Clause) (string, []any) {
	switch c.Op {
	case "LIKE", "ILIKE":
		return column + " " + c.Op + " ?", []any{c.Str}
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
