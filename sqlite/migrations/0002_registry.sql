-- Model registry in MLflow's model: registered models, their numbered
-- versions (with stage and tags), model tags and aliases. Times are Unix
-- milliseconds.

CREATE TABLE registered_models (
    name              TEXT    NOT NULL PRIMARY KEY,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    -- The highest version number ever given, so that a deleted version's
    -- number is never reused: the next version is last_version + 1.
    last_version      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
    name              TEXT    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL,             -- artifact URI of the model directory
    run_id            TEXT    NOT NULL DEFAULT '',
    current_stage     TEXT    NOT NULL DEFAULT 'None',
    status            TEXT    NOT NULL DEFAULT 'READY',
    UNIQUE (name, version)
);
CREATE INDEX model_versions_by_stage ON model_versions (name, current_stage, version);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
) WITHOUT ROWID;

-- One alias points to one version; a version may have many aliases.
-- Deleting the version deletes its aliases.
CREATE TABLE registered_model_aliases (
    name    TEXT    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX registered_model_aliases_by_version ON registered_model_aliases (name, version);
