-- Cron schedules (package schedule) and their fires. Times are Unix
-- milliseconds.

CREATE TABLE schedules (
    name        TEXT    NOT NULL PRIMARY KEY,
    cron        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL DEFAULT '',      -- '' is the scheduler's local time
    project_dir TEXT    NOT NULL,                 -- absolute
    entry_point TEXT    NOT NULL,
    params      TEXT    NOT NULL DEFAULT '[]',    -- JSON [{"key": ..., "value": ...}]
    experiment  TEXT    NOT NULL DEFAULT '',
    overlap     TEXT    NOT NULL DEFAULT 'skip',  -- skip, queue or allow
    missed      TEXT    NOT NULL DEFAULT 'run_once', -- run_once or skip
    paused      INTEGER NOT NULL DEFAULT 0,
    source      TEXT    NOT NULL DEFAULT '',      -- '' or the MLproject file it was applied from
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    next_run    INTEGER NOT NULL                  -- 0: never fires again
) WITHOUT ROWID;

-- One row per fire: inserting it (INSERT ... ON CONFLICT DO NOTHING) is
-- the lease that makes one scheduler own the fire, and the row is the
-- fire's history.
CREATE TABLE schedule_fires (
    name      TEXT    NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
    fire_time INTEGER NOT NULL,                   -- the scheduled time
    status    TEXT    NOT NULL,                   -- QUEUED, RUNNING, FINISHED, FAILED, KILLED, SKIPPED
    started   INTEGER NOT NULL DEFAULT 0,
    ended     INTEGER NOT NULL DEFAULT 0,
    run_id    TEXT    NOT NULL DEFAULT '',
    log_path  TEXT    NOT NULL DEFAULT '',
    message   TEXT    NOT NULL DEFAULT '',
    host      TEXT    NOT NULL DEFAULT '',        -- the scheduler that owns it
    pid       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, fire_time)
) WITHOUT ROWID;
CREATE INDEX schedule_fires_active ON schedule_fires (status, name) WHERE status IN ('RUNNING', 'QUEUED');
