-- One row per run holding its params, tags and latest metrics as the JSON
-- arrays a search page reads (see pageDataQuery in pagedata.go): reading a
-- page of 1,000 runs then costs one lookup per run instead of three
-- aggregations. The params, tags and latest_metrics tables stay the truth:
-- a run gets its row when it ends, later writes to its params, tags or
-- metrics rewrite it (writeSummary and refreshSummary in summary.go), and a
-- run without a row (still running, or copied by `mlrun db copy`) is read
-- from the tables directly.
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
