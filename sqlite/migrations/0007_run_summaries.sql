-- One row per run holding its params, tags and latest metrics as the JSON
-- arrays a search page reads (see pageDataQuery in pagedata.go): reading a
-- page of 1,000 runs then costs one lookup per run instead of three
-- aggregations. The params, tags and latest_metrics tables stay the truth;
-- every write to them but CreateRun's writes the run's row (refreshSummary
-- in summary.go), and a run without a row (just created, or copied by
-- `mlrun db copy`) is read from them directly.
CREATE TABLE run_summaries (
    run_id  TEXT NOT NULL PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    params  TEXT NOT NULL,   -- [["key","value"],...]
    tags    TEXT NOT NULL,   -- [["key","value"],...]
    metrics TEXT NOT NULL    -- [["key",step,timestamp,value,is_nan],...]
) WITHOUT ROWID;

-- The same expressions as summaryParams, summaryTags and summaryMetrics.
INSERT INTO run_summaries (run_id, params, tags, metrics)
SELECT r.run_id,
  (SELECT json_group_array(json_array(key, value)) FROM params WHERE run_id = r.run_id),
  (SELECT json_group_array(json_array(key, value)) FROM tags WHERE run_id = r.run_id),
  (SELECT json_group_array(json_array(key, step, timestamp, value, is_nan)) FROM latest_metrics WHERE run_id = r.run_id)
FROM runs r;
