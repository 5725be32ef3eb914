#include "store/sqlite/sqlite_schema.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace mf::sqlite {
namespace {

// Tables and columns are named as in the reference PostgreSQL schema, so
// that operators can read either database alike. Tags are JSON text, as posted.
//
// The ids come from AUTOINCREMENT keys, which never reuse a number: like the reference's
// sequences they are global across flows and only grow.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE flows_v3 (
    flow_id     TEXT NOT NULL,
    user_name   TEXT,
    ts_epoch    INTEGER NOT NULL,
    tags        TEXT,
    system_tags TEXT,
    CONSTRAINT flows_v3_pkey PRIMARY KEY (flow_id)
);
CREATE INDEX flows_v3_idx_ts_flow_desc ON flows_v3 (ts_epoch DESC, flow_id DESC);

CREATE TABLE runs_v3 (
    flow_id           TEXT NOT NULL,
    run_number        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name         TEXT,
    ts_epoch          INTEGER NOT NULL,
    tags              TEXT,
    system_tags       TEXT,
    run_id            TEXT,
    last_heartbeat_ts INTEGER,
    CONSTRAINT runs_v3_flow_id_run_number_key UNIQUE (flow_id, run_number),
    CONSTRAINT runs_v3_flow_id_run_id_key UNIQUE (flow_id, run_id),
    CONSTRAINT runs_v3_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES flows_v3 (flow_id)
);
CREATE INDEX runs_v3_idx_flow_ts_runnum_desc ON runs_v3 (flow_id, ts_epoch DESC, run_number DESC);

CREATE TABLE steps_v3 (
    flow_id     TEXT NOT NULL,
    run_number  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    user_name   TEXT,
    ts_epoch    INTEGER NOT NULL,
    tags        TEXT,
    system_tags TEXT,
    run_id      TEXT,
    CONSTRAINT steps_v3_pkey PRIMARY KEY (flow_id, run_number, step_name),
    CONSTRAINT steps_v3_flow_id_run_id_step_name_key UNIQUE (flow_id, run_id, step_name),
    CONSTRAINT steps_v3_flow_id_run_number_fkey FOREIGN KEY (flow_id, run_number)
        REFERENCES runs_v3 (flow_id, run_number)
);

CREATE TABLE tasks_v3 (
    flow_id           TEXT NOT NULL,
    run_number        INTEGER NOT NULL,
    step_name         TEXT NOT NULL,
    task_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name         TEXT,
    ts_epoch          INTEGER NOT NULL,
    tags              TEXT,
    system_tags       TEXT,
    run_id            TEXT,
    task_name         TEXT,
    last_heartbeat_ts INTEGER,
    CONSTRAINT tasks_v3_flow_id_run_number_step_name_task_name_key
        UNIQUE (flow_id, run_number, step_name, task_name),
    CONSTRAINT tasks_v3_flow_id_run_number_step_name_fkey FOREIGN KEY (flow_id, run_number, step_name)
        REFERENCES steps_v3 (flow_id, run_number, step_name)
);
CREATE INDEX tasks_v3_idx_flow_run_step_ts_task_desc
    ON tasks_v3 (flow_id, run_number, step_name, ts_epoch DESC, task_id DESC);

CREATE TABLE metadata_v3 (
    flow_id     TEXT NOT NULL,
    run_number  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    task_id     INTEGER NOT NULL,
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    field_name  TEXT NOT NULL,
    value       TEXT NOT NULL,
    type        TEXT NOT NULL,
    user_name   TEXT,
    ts_epoch    INTEGER NOT NULL,
    tags        TEXT,
    system_tags TEXT,
    run_id      TEXT,
    task_name   TEXT
);
-- A task's records newest first; also the end step's records for the derived run status.
CREATE INDEX metadata_v3_idx_task_ts_id_desc
    ON metadata_v3 (flow_id, run_number, step_name, task_id, ts_epoch DESC, id DESC);
CREATE INDEX metadata_v3_idx_flow_run_ts_id_desc
    ON metadata_v3 (flow_id, run_number, ts_epoch DESC, id DESC);

CREATE TABLE artifact_v3 (
    flow_id      TEXT NOT NULL,
    run_number   INTEGER NOT NULL,
    step_name    TEXT NOT NULL,
    task_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    location     TEXT NOT NULL,
    ds_type      TEXT NOT NULL,
    sha          TEXT,
    type         TEXT,
    content_type TEXT,
    user_name    TEXT,
    attempt_id   INTEGER NOT NULL,
    ts_epoch     INTEGER NOT NULL,
    tags         TEXT,
    system_tags  TEXT,
    run_id       TEXT,
    task_name    TEXT,
    CONSTRAINT artifact_v3_pkey PRIMARY KEY (flow_id, run_number, step_name, task_id, attempt_id, name)
);
-- The newest row per (task, name), for paged artifact lists.
CREATE INDEX artifact_v3_idx_latest_attempt
    ON artifact_v3 (flow_id, run_number, task_id, name, ts_epoch DESC, attempt_id DESC);
)sql";

// A run's artifacts in list order, so that a legacy list read in pages (and streamed) finds
// each page with an index seek instead of sorting the whole run's artifacts again.
constexpr const char* kRunArtifactOrderIndex = R"sql(
CREATE INDEX artifact_v3_idx_run_ts_task_name_desc
    ON artifact_v3 (flow_id, run_number, ts_epoch DESC, task_id DESC, name DESC);
)sql";

// A run's timeline: its tasks in list order, and the few records of an attempt other than 0,
// with which a page counts the extra rows of the retried tasks before it without reading every
// task's records. The conditions are the ones the UI's task list states (store/ui_sql.hpp), so
// that no other statement considers these indexes.
constexpr const char* kTimelineIndexes = R"sql(
CREATE INDEX tasks_v3_idx_run_list_order
    ON tasks_v3 (flow_id, run_number, ts_epoch, task_id, step_name)
    WHERE ts_epoch IS NOT NULL;
CREATE INDEX metadata_v3_idx_later_attempts ON metadata_v3 (flow_id, run_number, task_id)
    WHERE ((field_name IN ('attempt', 'attempt-done') AND value <> '0') OR
           (field_name = 'attempt_ok' AND tags <> '["attempt_id:0"]'));
CREATE INDEX artifact_v3_idx_later_task_ok
    ON artifact_v3 (flow_id, run_number, name, task_id, attempt_id)
    WHERE name = '_task_ok' AND attempt_id <> 0;
)sql";

// A timeline page's attempts: each task's attempt records and _task_ok artifacts, read from
// these indexes alone (they hold every column the page reads) instead of every record and
// artifact row of the task. The conditions are the ones the UI's task list states.
constexpr const char* kAttemptRecordIndexes = R"sql(
CREATE INDEX metadata_v3_idx_attempt_records
    ON metadata_v3 (flow_id, run_number, step_name, task_id, field_name, value, ts_epoch, tags)
    WHERE field_name IN ('attempt', 'attempt-done', 'attempt_ok');
CREATE INDEX artifact_v3_idx_task_ok
    ON artifact_v3 (flow_id, run_number, step_name, task_id, name, attempt_id, ts_epoch, location)
    WHERE name = '_task_ok';
)sql";

// The records of an attempt other than 0 with their attempt numbers: a timeline page counts
// the extra rows of a run's retried tasks from this index alone. It replaces the index of the
// same condition without them.
constexpr const char* kLaterAttemptValues = R"sql(
CREATE INDEX metadata_v3_idx_later_attempt_values
    ON metadata_v3 (flow_id, run_number, task_id, field_name, value, tags)
    WHERE ((field_name IN ('attempt', 'attempt-done') AND value <> '0') OR
           (field_name = 'attempt_ok' AND tags <> '["attempt_id:0"]'));
DROP INDEX metadata_v3_idx_later_attempts;
)sql";

// Append only: a released entry never changes, since databases already carry it.
constexpr std::array kMigrations = {kInitialSchema, kRunArtifactOrderIndex, kTimelineIndexes,
                                    kAttemptRecordIndexes, kLaterAttemptValues};

int user_version(Connection& db) {
    Statement statement = db.prepare("PRAGMA user_version");
    statement.step();
    return static_cast<int>(statement.int64(0));
}

}  // namespace

int latest_schema_version() {
    return static_cast<int>(kMigrations.size());
}

void migrate(Connection& db) {
    auto check_known = [](int version) {
        if (version > latest_schema_version()) {
            throw std::runtime_error("database schema version " + std::to_string(version) +
                                     " is newer than this build supports (" +
                                     std::to_string(latest_schema_version()) +
                                     "); run a newer metadata service");
        }
    };
    int version = user_version(db);
    check_known(version);
    if (version == latest_schema_version()) return;

    // IMMEDIATE takes the write lock first, so that two processes opening a fresh file
    // cannot both apply the same migration; the version is read again under the lock.
    db.execute_script("BEGIN IMMEDIATE");
    try {
        version = user_version(db);
        check_known(version);
        for (int next = version; next < latest_schema_version(); ++next)
            db.execute_script(kMigrations[next]);
        db.execute_script(
            ("PRAGMA user_version = " + std::to_string(latest_schema_version())).c_str());
        db.execute_script("COMMIT");
    } catch (...) {
        if (db.in_transaction()) db.execute_script("ROLLBACK");
        throw;
    }
}

}  // namespace mf::sqlite
