package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The JSON arrays of a run's params, tags and latest metrics that
// run_summaries keeps (migration 0007) and pageDataQuery reads; ?1 is the
// run id.
const (
	summaryParams  = `(SELECT json_group_array(json_array(key, value)) FROM params WHERE run_id = ?1)`
	summaryTags    = `(SELECT json_group_array(json_array(key, value)) FROM tags WHERE run_id = ?1)`
	summaryMetrics = `(SELECT json_group_array(json_array(key, step, timestamp, value, is_nan)) FROM latest_metrics WHERE run_id = ?1)`
)

// summaryPart names the columns of run_summaries a write changed.
type summaryPart uint8

// The columns of run_summaries.
const (
	summaryOfParams summaryPart = 1 << iota
	summaryOfTags
	summaryOfMetrics
)

// refreshSummary rewrites the parts of run runID's row in run_summaries
// from the params, tags and latest_metrics tables, in the transaction that
// changed them; a run without a row gets a whole one. CreateRun writes no
// row, which would make creating a run a seventh slower: a run gets its
// row with its first logged value, tag or name change, and until then a
// search reads it from the tables.
func refreshSummary(ctx context.Context, tx *sql.Tx, runID string, parts summaryPart) error {
	var set []string
	if parts&summaryOfParams != 0 {
		set = append(set, "params = "+summaryParams)
	}
	if parts&summaryOfTags != 0 {
		set = append(set, "tags = "+summaryTags)
	}
	if parts&summaryOfMetrics != 0 {
		set = append(set, "metrics = "+summaryMetrics)
	}
	if len(set) == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE run_summaries SET `+strings.Join(set, ", ")+` WHERE run_id = ?1`, runID)
	if err != nil {
		return fmt.Errorf("update the summary of run %s: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	return insertSummary(ctx, tx, runID)
}

// insertSummary writes the row in run_summaries of run runID, which has
// none.
func insertSummary(ctx context.Context, tx *sql.Tx, runID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO run_summaries (run_id, params, tags, metrics)
		VALUES (?1, `+summaryParams+`, `+summaryTags+`, `+summaryMetrics+`)`, runID)
	if err != nil {
		return fmt.Errorf("write the summary of run %s: %w", runID, err)
	}
	return nil
}
