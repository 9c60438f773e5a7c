-- Step cache: one entry per successful step execution, keyed by the hash of
-- everything the step consumed (pipeline/cache.go computes the key). The
-- entry is the JSON the pipeline needs to replay the step on a new run.

CREATE TABLE step_cache (
    cache_key  TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,      -- the run that executed the step
    created    INTEGER NOT NULL,      -- Unix ms
    entry      BLOB    NOT NULL
) WITHOUT ROWID;
