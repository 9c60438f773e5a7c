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

// A run gets its row in run_summaries when it ends (writeSummary, called
// by UpdateRun and ReapDeadRuns in the transaction that sets a terminal
// status); from then on every write to its params, tags or latest metrics
// rewrites the parts of the row it changed (refreshSummary), in the same
// transaction. A run that has not ended has no row and a search reads it
// from the tables (pageDataQuery), as it reads a run copied by `mlrun db
// copy`: the search stays exact either way. Rewriting a running run's row
// at each of its log batches cost a sweep trial a quarter of its store
// time and each batch three more pages (the row, its overflow pages'
// freelist, the database header); a search mostly reads ended runs.

// refreshSummary rewrites the parts of run runID's row in run_summaries
// from the params, tags and latest_metrics tables, in the transaction that
// changed them, with one UPDATE; a run without a row keeps none.
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
	if _, err := tx.ExecContext(ctx, `UPDATE run_summaries SET `+strings.Join(set, ", ")+` WHERE run_id = ?1`, runID); err != nil {
		return fmt.Errorf("update the summary of run %s: %w", runID, err)
	}
	return nil
}

// writeSummary writes the whole row of run runID in run_summaries, which
// may have one already.
func writeSummary(ctx context.Context, tx *sql.Tx, runID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO run_summaries (run_id, params, tags, metrics)
		VALUES (?1, `+summaryParams+`, `+summaryTags+`, `+summaryMetrics+`)
		ON CONFLICT (run_id) DO UPDATE SET params = excluded.params, tags = excluded.tags, metrics = excluded.metrics`, runID)
	if err != nil {
		return fmt.Errorf("write the summary of run %s: %w", runID, err)
	}
	return nil
}
