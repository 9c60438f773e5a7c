-- Runs in the default search order (start_time DESC, run_id), across
-- experiments: a page of `runs list` over a large store, and the runs that
-- lack the metric a search is ordered by, are read in index order instead
-- of sorting every run.
CREATE INDEX runs_by_start_time ON runs (start_time DESC, run_id);
