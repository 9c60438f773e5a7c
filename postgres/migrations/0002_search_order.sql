-- Runs in the default search order (start_time DESC, run_id), across
-- experiments, so that a page of `runs list` reads an index in order.
CREATE INDEX runs_by_start_time ON runs (start_time DESC, run_id);
