-- mlrun's tracking schema on PostgreSQL: MLflow's data model, as package
-- sqlite keeps it (see ../sqlite/migrations). Times are Unix milliseconds;
-- text columns use the "C" collation so that ordering and comparison are
-- bytewise, as in SQLite.


-- from 0001_tracking.sql
-- Tracking schema in MLflow's model: experiments, runs, params, metric
-- history, latest metrics and tags. Times are Unix milliseconds.

CREATE TABLE experiments (
    experiment_id     BIGSERIAL PRIMARY KEY,          -- exposed as a string; 0 is "Default"
    name              TEXT COLLATE "C"    NOT NULL UNIQUE,
    artifact_location TEXT COLLATE "C"    NOT NULL,
    lifecycle_stage   TEXT COLLATE "C"    NOT NULL DEFAULT 'active',
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT COLLATE "C"    NOT NULL,
    value         TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_id          TEXT COLLATE "C"    NOT NULL PRIMARY KEY,   -- 32 lower-case hex characters
    name            TEXT COLLATE "C"    NOT NULL,
    experiment_id   BIGINT NOT NULL REFERENCES experiments (experiment_id),
    user_id         TEXT COLLATE "C"    NOT NULL DEFAULT '',
    status          TEXT COLLATE "C"    NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,                        -- NULL while the run is not over
    artifact_uri    TEXT COLLATE "C"    NOT NULL,
    lifecycle_stage TEXT COLLATE "C"    NOT NULL DEFAULT 'active',
    deleted_time    BIGINT,
    host            TEXT COLLATE "C"    NOT NULL DEFAULT '',    -- owner process, for reaping
    pid             BIGINT NOT NULL DEFAULT 0,
    heartbeat       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_id);
CREATE INDEX runs_running ON runs (status) WHERE status = 'RUNNING';

CREATE TABLE params (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT COLLATE "C" NOT NULL,
    value  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX params_by_key_value ON params (key, value);

CREATE TABLE tags (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT COLLATE "C" NOT NULL,
    value  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX tags_by_key_value ON tags (key, value);

-- Every logged point. SQLite cannot store NaN, so a NaN is value 0 with
-- is_nan 1 (as in MLflow). Logging an identical point twice keeps one row.
CREATE TABLE metrics (
    run_id    TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key       TEXT COLLATE "C"    NOT NULL,
    step      BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value     DOUBLE PRECISION    NOT NULL,
    is_nan    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key, step, timestamp, value, is_nan)
);

-- The latest point per (run, metric): the greatest (step, timestamp, value).
CREATE TABLE latest_metrics (
    run_id    TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key       TEXT COLLATE "C"    NOT NULL,
    step      BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value     DOUBLE PRECISION    NOT NULL,
    is_nan    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value);


-- from 0002_registry.sql
-- Model registry in MLflow's model: registered models, their numbered
-- versions (with stage and tags), model tags and aliases. Times are Unix
-- milliseconds.

CREATE TABLE registered_models (
    name              TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT COLLATE "C"    NOT NULL DEFAULT '',
    -- The highest version number ever given, so that a deleted version's
    -- number is never reused: the next version is last_version + 1.
    last_version      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE registered_model_tags (
    name  TEXT COLLATE "C" NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE model_versions (
    name              TEXT COLLATE "C"    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    version           BIGINT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT COLLATE "C"    NOT NULL DEFAULT '',
    source            TEXT COLLATE "C"    NOT NULL,             -- artifact URI of the model directory
    run_id            TEXT COLLATE "C"    NOT NULL DEFAULT '',
    current_stage     TEXT COLLATE "C"    NOT NULL DEFAULT 'None',
    status            TEXT COLLATE "C"    NOT NULL DEFAULT 'READY',
    UNIQUE (name, version)
);
CREATE INDEX model_versions_by_stage ON model_versions (name, current_stage, version);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT COLLATE "C"    NOT NULL,
    version BIGINT NOT NULL,
    key     TEXT COLLATE "C"    NOT NULL,
    value   TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
);

-- One alias points to one version; a version may have many aliases.
-- Deleting the version deletes its aliases.
CREATE TABLE registered_model_aliases (
    name    TEXT COLLATE "C"    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    alias   TEXT COLLATE "C"    NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
);
CREATE INDEX registered_model_aliases_by_version ON registered_model_aliases (name, version);


-- from 0003_schedules.sql
-- Cron schedules (package schedule) and their fires. Times are Unix
-- milliseconds.

CREATE TABLE schedules (
    name        TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    cron        TEXT COLLATE "C"    NOT NULL,
    timezone    TEXT COLLATE "C"    NOT NULL DEFAULT '',      -- '' is the scheduler's local time
    project_dir TEXT COLLATE "C"    NOT NULL,                 -- absolute
    entry_point TEXT COLLATE "C"    NOT NULL,
    params      TEXT COLLATE "C"    NOT NULL DEFAULT '[]',    -- JSON [{"key": ..., "value": ...}]
    experiment  TEXT COLLATE "C"    NOT NULL DEFAULT '',
    overlap     TEXT COLLATE "C"    NOT NULL DEFAULT 'skip',  -- skip, queue or allow
    missed      TEXT COLLATE "C"    NOT NULL DEFAULT 'run_once', -- run_once or skip
    paused      BOOLEAN NOT NULL DEFAULT FALSE,
    source      TEXT COLLATE "C"    NOT NULL DEFAULT '',      -- '' or the MLproject file it was applied from
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    next_run    BIGINT NOT NULL                  -- 0: never fires again
);

-- One row per fire: inserting it (INSERT ... ON CONFLICT DO NOTHING) is
-- the lease that makes one scheduler own the fire, and the row is the
-- fire's history.
CREATE TABLE schedule_fires (
    name      TEXT COLLATE "C"    NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
    fire_time BIGINT NOT NULL,                   -- the scheduled time
    status    TEXT COLLATE "C"    NOT NULL,                   -- QUEUED, RUNNING, FINISHED, FAILED, KILLED, SKIPPED
    started   BIGINT NOT NULL DEFAULT 0,
    ended     BIGINT NOT NULL DEFAULT 0,
    run_id    TEXT COLLATE "C"    NOT NULL DEFAULT '',
    log_path  TEXT COLLATE "C"    NOT NULL DEFAULT '',
    message   TEXT COLLATE "C"    NOT NULL DEFAULT '',
    host      TEXT COLLATE "C"    NOT NULL DEFAULT '',        -- the scheduler that owns it
    pid       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, fire_time)
);
CREATE INDEX schedule_fires_active ON schedule_fires (status, name) WHERE status IN ('RUNNING', 'QUEUED');


-- from 0004_step_cache.sql
-- Step cache: one entry per successful step execution, keyed by the hash of
-- everything the step consumed (pipeline/cache.go computes the key). The
-- entry is the JSON the pipeline needs to replay the step on a new run.

CREATE TABLE step_cache (
    cache_key  TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    kind       TEXT COLLATE "C"    NOT NULL,
    step       TEXT COLLATE "C"    NOT NULL,
    run_id     TEXT COLLATE "C"    NOT NULL,      -- the run that executed the step
    created    BIGINT NOT NULL,      -- Unix ms
    entry      BYTEA    NOT NULL
);
