package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/tracking"
)

// pageDataQuery returns one row per run id of a JSON array, in the array's
// order: the run's params, tags and latest metrics, each as a JSON array of
// arrays ([["key","value"],...] and [["key",step,timestamp,value,is_nan],...]).
// They come from the run's row in run_summaries (one lookup), or, for a
// run that has none (one that has not ended, or copied by `mlrun db
// copy`; see summary.go), are
// built by SQLite from the params, tags and latest_metrics tables with the
// same expressions.
// One row per run instead of one per value is what makes a page of 1,000
// runs cheap: the cost of a row read through database/sql is several
// times that of SQLite finding it. SQLite writes a REAL with 17
// significant digits, which reads back as the same float64 (an infinity as
// ±9.0e+999).
const pageDataQuery = `SELECT
  coalesce(s.params, (SELECT json_group_array(json_array(key, value)) FROM params WHERE run_id = ids.value)),
  coalesce(s.tags, (SELECT json_group_array(json_array(key, value)) FROM tags WHERE run_id = ids.value)),
  coalesce(s.metrics, (SELECT json_group_array(json_array(key, step, timestamp, value, is_nan)) FROM latest_metrics WHERE run_id = ids.value))
FROM json_each(?) ids LEFT JOIN run_summaries s ON s.run_id = ids.value
ORDER BY ids.key`

// loadPageData fills the params, latest metrics and tags of a page of runs
// with one query (pageDataQuery). Each list is ordered by key, as
// loadRunData orders them.
func loadPageData(ctx context.Context, q querier, runs []*tracking.Run) error {
	if len(runs) == 0 {
		return nil
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.Info.ID
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encode run ids: %w", err)
	}
	rows, err := q.QueryContext(ctx, pageDataQuery, string(idList))
	if err != nil {
		return fmt.Errorf("load run data: %w", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i == len(runs) {
			return errors.New("load run data: more rows than runs")
		}
		r := runs[i]
		i++
		// Scanned as strings, so that keys and values are substrings of
		// them rather than copies.
		var params, tags, metrics string
		if err := rows.Scan(&params, &tags, &metrics); err != nil {
			return fmt.Errorf("load run data: %w", err)
		}
		if r.Params, err = decodePairs(params, func(k, v string) tracking.Param { return tracking.Param{Key: k, Value: v} }); err != nil {
			return fmt.Errorf("load params of run %s: %w", r.Info.ID, err)
		}
		if r.Tags, err = decodePairs(tags, func(k, v string) tracking.Tag { return tracking.Tag{Key: k, Value: v} }); err != nil {
			return fmt.Errorf("load tags of run %s: %w", r.Info.ID, err)
		}
		if r.Metrics, err = decodeMetrics(metrics); err != nil {
			return fmt.Errorf("load metrics of run %s: %w", r.Info.ID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load run data: %w", err)
	}
	if i != len(runs) {
		return fmt.Errorf("load run data: %d rows for %d runs", i, len(runs))
	}
	return nil
}

// decodePairs decodes [["key","value"],...] into a list ordered by key.
func decodePairs[T any](s string, pair func(k, v string) T) ([]T, error) {
	type kv struct{ k, v string }
	var kvs []kv
	err := eachArray(s, func(d *arrayDecoder) {
		k := d.str()
		d.sep()
		kvs = append(kvs, kv{k, d.str()})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	out := make([]T, len(kvs))
	for i, p := range kvs {
		out[i] = pair(p.k, p.v)
	}
	return out, nil
}

// decodeMetrics decodes [["key",step,timestamp,value,is_nan],...] into a
// list ordered by key.
func decodeMetrics(s string) ([]tracking.Metric, error) {
	ms := []tracking.Metric{}
	err := eachArray(s, func(d *arrayDecoder) {
		var m tracking.Metric
		m.Key = d.str()
		d.sep()
		m.Step = d.int()
		d.sep()
		m.Timestamp = d.int()
		d.sep()
		m.Value = d.float()
		d.sep()
		if d.int() != 0 {
			m.Value = math.NaN()
		}
		ms = append(ms, m)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b tracking.Metric) int { return cmp.Compare(a.Key, b.Key) })
	return ms, nil
}

// arrayDecoder reads the compact JSON that SQLite's json functions write
// (no white space): strings and numbers inside arrays. A string without
// escapes is returned as a substring of the input; the rare one with
// escapes is decoded by encoding/json. The first error stops it.
type arrayDecoder struct {
	s   string
	err error
}

// eachArray calls item for each inner array of the outer array s, with the
// decoder positioned after the inner array's '['; item must read the
// inner array's values and stop before its ']'.
func eachArray(s string, item func(d *arrayDecoder)) error {
	d := &arrayDecoder{s: s}
	d.expect('[')
	for d.err == nil && !d.at(']') {
		d.expect('[')
		item(d)
		d.expect(']')
		if !d.at(']') {
			d.sep()
		}
	}
	d.expect(']')
	if d.err == nil && d.s != "" {
		d.fail("after the array")
	}
	return d.err
}

// at reports whether the next byte is c.
func (d *arrayDecoder) at(c byte) bool { return d.err == nil && d.s != "" && d.s[0] == c }

// expect consumes the byte c.
func (d *arrayDecoder) expect(c byte) {
	if !d.at(c) {
		d.fail(fmt.Sprintf("where %q was expected", c))
		return
	}
	d.s = d.s[1:]
}

// sep consumes the ',' between two values.
func (d *arrayDecoder) sep() { d.expect(',') }

// fail records the first error.
func (d *arrayDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("malformed JSON from SQLite %s: %.40q", what, d.s)
	}
}

// str reads a string.
func (d *arrayDecoder) str() string {
	if !d.at('"') {
		d.fail("where a string was expected")
		return ""
	}
	if end := strings.IndexByte(d.s[1:], '"') + 1; end > 0 && strings.IndexByte(d.s[1:end], '\\') < 0 {
		v := d.s[1:end]
		d.s = d.s[end+1:]
		return v
	}
	// Escapes: find the closing quote, skipping escaped characters.
	end := 1
	for ; end < len(d.s) && d.s[end] != '"'; end++ {
		if d.s[end] == '\\' {
			end++
		}
	}
	var v string
	if end >= len(d.s) || json.Unmarshal([]byte(d.s[:end+1]), &v) != nil {
		d.fail("in a string")
		return ""
	}
	d.s = d.s[end+1:]
	return v
}

// number returns the text of a number.
func (d *arrayDecoder) number() string {
	end := 0
	for end < len(d.s) && d.s[end] != ',' && d.s[end] != ']' {
		end++
	}
	if d.err != nil || end == 0 || end == len(d.s) {
		d.fail("where a number was expected")
		return ""
	}
	v := d.s[:end]
	d.s = d.s[end:]
	return v
}

// int reads an integer.
func (d *arrayDecoder) int() int64 {
	n, err := strconv.ParseInt(d.number(), 10, 64)
	if err != nil {
		d.fail("in an integer")
	}
	return n
}

// float reads a number; SQLite's ±9.0e+999 is an infinity.
func (d *arrayDecoder) float() float64 {
	f, err := strconv.ParseFloat(d.number(), 64)
	if err != nil && !math.IsInf(f, 0) {
		d.fail("in a number")
	}
	return f
}
