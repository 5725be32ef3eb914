#include "store/postgres/pg_schema.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace mf::pg {
namespace {

// One goose migration file, as statements.
struct Migration {
    std::int64_t version;
    bool in_transaction;  // false: goose's "NO TRANSACTION", needed by CONCURRENTLY
    std::vector<std::string_view> statements;
};

// The reference's goose migrations, transcribed. Append only: a released entry never changes,
// since databases already carry it. Our own migrations, if ever needed, take versions after
// the reference's last one.
const std::vector<Migration>& migrations() {
    static const std::vector<Migration> all = {
        {1,
         true,
         {R"sql(CREATE TABLE IF NOT EXISTS flows_v3 (
    flow_id VARCHAR(255) PRIMARY KEY,
    user_name VARCHAR(255),
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB
))sql",
          R"sql(CREATE TABLE IF NOT EXISTS runs_v3 (
    flow_id VARCHAR(255) NOT NULL,
    run_number SERIAL NOT NULL,
    user_name VARCHAR(255),
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB,
    PRIMARY KEY (flow_id, run_number),
    FOREIGN KEY (flow_id) REFERENCES flows_v3 (flow_id)
))sql",
          R"sql(CREATE TABLE IF NOT EXISTS steps_v3 (
    flow_id VARCHAR(255) NOT NULL,
    run_number BIGINT NOT NULL,
    step_name VARCHAR(255) NOT NULL,
    user_name VARCHAR(255),
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB,
    PRIMARY KEY (flow_id, run_number, step_name),
    FOREIGN KEY (flow_id, run_number) REFERENCES runs_v3 (flow_id, run_number)
))sql",
          R"sql(CREATE TABLE IF NOT EXISTS tasks_v3 (
    flow_id VARCHAR(255) NOT NULL,
    run_number BIGINT NOT NULL,
    step_name VARCHAR(255) NOT NULL,
    task_id BIGSERIAL PRIMARY KEY,
    user_name VARCHAR(255),
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB,
    FOREIGN KEY (flow_id, run_number, step_name) REFERENCES steps_v3 (flow_id, run_number, step_name)
))sql",
          R"sql(CREATE TABLE IF NOT EXISTS metadata_v3 (
    flow_id VARCHAR(255),
    run_number BIGINT NOT NULL,
    step_name VARCHAR(255) NOT NULL,
    task_id BIGINT NOT NULL,
    id BIGSERIAL NOT NULL,
    field_name VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    type VARCHAR(255) NOT NULL,
    user_name VARCHAR(255),
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB,
    PRIMARY KEY (flow_id, run_number, step_name, task_id, field_name)
))sql",
          R"sql(CREATE TABLE IF NOT EXISTS artifact_v3 (
    flow_id VARCHAR(255) NOT NULL,
    run_number BIGINT NOT NULL,
    step_name VARCHAR(255) NOT NULL,
    task_id BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL,
    location VARCHAR(255) NOT NULL,
    ds_type VARCHAR(255) NOT NULL,
    sha VARCHAR(255),
    type VARCHAR(255),
    content_type VARCHAR(255),
    user_name VARCHAR(255),
    attempt_id SMALLINT NOT NULL,
    ts_epoch BIGINT NOT NULL,
    tags JSONB,
    system_tags JSONB,
    PRIMARY KEY (flow_id, run_number, step_name, task_id, attempt_id, name)
))sql"}},
        {20200603104139,
         true,
         {"ALTER TABLE runs_v3 ADD COLUMN run_id VARCHAR(255), ADD COLUMN last_heartbeat_ts "
          "BIGINT, ADD UNIQUE (flow_id, run_id)",
          "ALTER TABLE steps_v3 ADD COLUMN run_id VARCHAR(255), ADD UNIQUE (flow_id, run_id, "
          "step_name)",
          "ALTER TABLE tasks_v3 ADD COLUMN run_id VARCHAR(255), ADD COLUMN task_name "
          "VARCHAR(255), ADD COLUMN last_heartbeat_ts BIGINT, ADD UNIQUE (flow_id, run_number, "
          "step_name, task_name)",
          "ALTER TABLE metadata_v3 ADD COLUMN run_id VARCHAR(255), ADD COLUMN task_name "
          "VARCHAR(255)",
          "ALTER TABLE artifact_v3 ADD COLUMN run_id VARCHAR(255), ADD COLUMN task_name "
          "VARCHAR(255)"}},
        {20201002000616,
         true,
         {"ALTER TABLE metadata_v3 DROP CONSTRAINT metadata_v3_pkey, ADD PRIMARY KEY (id, "
          "flow_id, run_number, step_name, task_id, field_name)",
          "CREATE INDEX IF NOT EXISTS metadata_v3_akey ON metadata_v3 (flow_id, run_number, "
          "step_name, task_id, field_name)"}},
        {20210202145952,
         true,
         {"CREATE INDEX IF NOT EXISTS runs_v3_idx_ts_epoch ON runs_v3 (ts_epoch)",
          "CREATE INDEX IF NOT EXISTS runs_v3_idx_gin_tags_combined ON runs_v3 USING gin "
          "((tags || system_tags))",
          "CREATE INDEX IF NOT EXISTS runs_v3_idx_flow_id_asc_ts_epoch_desc ON runs_v3 "
          "(flow_id, ts_epoch DESC)",
          "CREATE INDEX IF NOT EXISTS runs_v3_idx_user_asc_ts_epoch_desc ON runs_v3 ((CASE WHEN "
          "system_tags ? ('user:' || user_name) THEN user_name ELSE NULL END), ts_epoch DESC)"}},
        {20210260056859,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_v3_idx_flow_id_run_id_step_name_task_name "
          "ON tasks_v3 (flow_id, run_id, step_name, task_name) WHERE run_id IS NOT NULL AND "
          "task_name IS NOT NULL"}},
        {20211202100726,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_str_ids_primary_key ON runs_v3 "
          "(flow_id, run_id) WHERE run_id IS NOT NULL",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS steps_v3_idx_str_ids_primary_key ON steps_v3 "
          "(flow_id, run_id, step_name) WHERE run_id IS NOT NULL",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_str_ids_primary_key ON "
          "metadata_v3 (flow_id, run_id, step_name, task_name, field_name) WHERE run_id IS NOT "
          "NULL AND task_name IS NOT NULL",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_str_ids_primary_key ON "
          "artifact_v3 (flow_id, run_id, step_name, task_name, attempt_id, name) WHERE run_id "
          "IS NOT NULL AND task_name IS NOT NULL"}},
        {20220503175500,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_epoch_ts_desc ON runs_v3 "
          "(ts_epoch DESC)"}},
        {20230118020300,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_str_ids_primary_key_v2 ON runs_v3 "
          "(flow_id, run_id)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS steps_v3_idx_str_ids_primary_key_v2 ON "
          "steps_v3 (flow_id, run_id, step_name)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
          "tasks_v3_idx_flow_id_run_id_step_name_task_name_v2 ON tasks_v3 (flow_id, run_id, "
          "step_name, task_name)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_str_ids_a_key ON metadata_v3 "
          "(flow_id, run_id, step_name, task_name, field_name)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_str_ids_a_key_with_task_id ON "
          "metadata_v3 (flow_id, run_id, step_name, task_id, field_name)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_str_ids_primary_key_v2 ON "
          "artifact_v3 (flow_id, run_id, step_name, task_name, attempt_id, name)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
          "artifact_v3_idx_str_ids_primary_key_with_task_id "
          "ON artifact_v3 (flow_id, run_id, step_name, task_id, attempt_id, name)",
          "DROP INDEX CONCURRENTLY IF EXISTS tasks_v3_idx_flow_id_run_id_step_name_task_name",
          "DROP INDEX CONCURRENTLY IF EXISTS runs_v3_idx_str_ids_primary_key",
          "DROP INDEX CONCURRENTLY IF EXISTS steps_v3_idx_str_ids_primary_key",
          "DROP INDEX CONCURRENTLY IF EXISTS metadata_v3_idx_str_ids_primary_key",
          "DROP INDEX CONCURRENTLY IF EXISTS artifact_v3_idx_str_ids_primary_key"}},
        {20260615000000,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_flow_ts_runnum_desc ON runs_v3 "
          "(flow_id, ts_epoch DESC, run_number DESC)"}},
        {20260706000000,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_latest_attempt ON artifact_v3 "
          "(flow_id, run_number, task_id, name, ts_epoch DESC)"}},
        {20260706000001,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS flows_v3_idx_ts_flow_desc ON flows_v3 "
          "(ts_epoch DESC, flow_id DESC)"}},
        {20260706000002,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_v3_idx_flow_run_step_ts_task_desc ON "
          "tasks_v3 (flow_id, run_number, step_name, ts_epoch DESC, task_id DESC)"}},
        {20260706000003,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_flow_run_ts_id_desc ON "
          "metadata_v3 (flow_id, run_number, ts_epoch DESC, id DESC)"}},
        // A run's artifacts in list order: each page of a streamed legacy list is an index
        // seek instead of a sort of the whole run's artifacts.
        {20261125000000,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_run_ts_task_name_desc ON "
          "artifact_v3 (flow_id, run_number, ts_epoch DESC, task_id DESC, name DESC)"}},
        // A run's metadata in list order, full: on a table without statistics PostgreSQL
        // took it for a task's metadata as well, walking the whole run's. Replaced by the
        // partial one of migration 20261205000003, which only the run's metadata list
        // considers.
        {20261205000000,
         false,
         {"DROP INDEX CONCURRENTLY IF EXISTS metadata_v3_idx_flow_run_ts_id_desc"}},
        // The list-order indexes of a step's tasks and a run's artifacts, again, but partial
        // on a condition that is always true and that only the list statements state. A
        // statement about one task never considers them: on a table without statistics,
        // PostgreSQL estimated an index seek on their first columns (the step's or the run's)
        // at one row, as cheap as the task's key, and walked the step's or the run's entries.
        {20261205000001,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_v3_idx_step_list_order ON tasks_v3 "
          "(flow_id, run_number, step_name, ts_epoch DESC, task_id DESC) WHERE ts_epoch IS NOT "
          "NULL",
          "DROP INDEX CONCURRENTLY IF EXISTS tasks_v3_idx_flow_run_step_ts_task_desc",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_run_list_order ON artifact_v3 "
          "(flow_id, run_number, ts_epoch DESC, task_id DESC, name DESC) WHERE ts_epoch IS NOT "
          "NULL",
          "DROP INDEX CONCURRENTLY IF EXISTS artifact_v3_idx_run_ts_task_name_desc"}},
        // A run's timeline: its tasks in list order, and the few records of an attempt other
        // than 0, with which a page counts the extra rows of the retried tasks before it
        // without reading every task's records. The conditions are the ones the UI's task list
        // states (store/ui_sql.hpp), so that no other statement considers these indexes.
        {20261205000002,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_v3_idx_run_list_order ON tasks_v3 "
          "(flow_id, run_number, ts_epoch, task_id, step_name) WHERE ts_epoch IS NOT NULL",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_later_attempts ON metadata_v3 "
          "(flow_id, run_number, task_id) WHERE ((field_name IN ('attempt', 'attempt-done') AND "
          "value <> '0') OR (field_name = 'attempt_ok' AND tags <> '[\"attempt_id:0\"]'::jsonb))",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_later_task_ok ON artifact_v3 "
          "(flow_id, run_number, name, task_id, attempt_id) WHERE name = '_task_ok' AND "
          "attempt_id <> 0"}},
        // A run's metadata in list order, partial as the lists' indexes above: each page of
        // the run's streamed metadata list is an index seek instead of a sort of the whole
        // run's metadata.
        {20261205000003,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_run_list_order ON metadata_v3 "
          "(flow_id, run_number, ts_epoch DESC, id DESC) WHERE ts_epoch IS NOT NULL"}},
        // The reference's name indexes of artifacts and metadata without deduplication. A
        // run created without a run_id, whose tasks have no task_name, has entries there that
        // are all alike but for attempt and name; deduplicated, they shrank the index to a
        // tenth of the key's and a level less deep, and on tables without statistics (where
        // PostgreSQL prices an equality on the flow alone at a few rows) that level made a
        // seek on the flow and the step in them look cheaper than the task's key: a task's
        // artifacts and metadata walked its run's. The indexes stay as the reference has them;
        // entries written before keep their form until the index is rebuilt.
        {20261206000000,
         true,
         {"ALTER INDEX IF EXISTS artifact_v3_idx_str_ids_primary_key_v2 SET (deduplicate_items = "
          "off)",
          "ALTER INDEX IF EXISTS metadata_v3_idx_str_ids_a_key SET (deduplicate_items = off)"}},
        // A task's attempt records and _task_ok artifact, covered: a timeline page derives a
        // thousand tasks' attempts from these small indexes alone, instead of a heap page per
        // record among the run's other metadata and artifacts (which outgrow shared buffers on
        // a big run). Records whose value or tags are too large for an index entry are in the
        // second, uncovered one. The conditions are the ones the UI's task list states
        // (store/ui_sql.hpp).
        {20261206000001,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_task_attempts ON metadata_v3 "
          "(flow_id, run_number, step_name, task_id) INCLUDE (field_name, value, tags, ts_epoch) "
          "WHERE field_name IN ('attempt', 'attempt-done', 'attempt_ok') AND octet_length(value) "
          "<= 256 AND COALESCE(octet_length(CAST(tags AS TEXT)), 0) <= 256",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_task_large_attempts ON "
          "metadata_v3 (flow_id, run_number, step_name, task_id) WHERE field_name IN ('attempt', "
          "'attempt-done', 'attempt_ok') AND NOT (octet_length(value) <= 256 AND "
          "COALESCE(octet_length(CAST(tags AS TEXT)), 0) <= 256)",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_task_ok ON artifact_v3 "
          "(flow_id, run_number, step_name, task_id, attempt_id) INCLUDE (ts_epoch, location) "
          "WHERE name = '_task_ok'"}},
        // The records of an attempt other than 0, covered: a timeline page counts the extra
        // rows of a run's retried tasks from their attempt numbers, read from this index alone
        // instead of a heap page per record. Records too large for an index entry are in the
        // second one (in practice none), which replaces the index of all of them: read for
        // those few, it walked every entry and its row. The conditions are the ones the UI's
        // task list states (store/ui_sql.hpp).
        {20261206000002,
         false,
         {"CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_later_attempt_values ON "
          "metadata_v3 (flow_id, run_number, task_id) INCLUDE (field_name, value, tags) WHERE "
          "((field_name IN ('attempt', 'attempt-done') AND value <> '0') OR (field_name = "
          "'attempt_ok' AND tags <> '[\"attempt_id:0\"]'::jsonb)) AND octet_length(value) <= 256 "
          "AND COALESCE(octet_length(CAST(tags AS TEXT)), 0) <= 256",
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_later_large_attempts ON "
          "metadata_v3 (flow_id, run_number, task_id) WHERE ((field_name IN ('attempt', "
          "'attempt-done') AND value <> '0') OR (field_name = 'attempt_ok' AND tags <> "
          "'[\"attempt_id:0\"]'::jsonb)) AND NOT (octet_length(value) <= 256 AND "
          "COALESCE(octet_length(CAST(tags AS TEXT)), 0) <= 256)",
          "DROP INDEX CONCURRENTLY IF EXISTS metadata_v3_idx_later_attempts"}},
    };
    return all;
}

// Taken for the whole of a migration run, so that replicas starting together queue up.
// The number is arbitrary but fixed: "mfmigrat" in ASCII.
constexpr std::string_view kMigrationLock = "7883446098497636724";

bool has_goose_table(BlockingConnection& db) {
    return !db.execute("SELECT to_regclass('goose_db_version')").is_null(0, 0);
}

// goose's rule: walking the rows newest first, a version's latest row says whether it is
// applied; the current version is the first one found applied.
std::int64_t goose_version(BlockingConnection& db) {
    if (!has_goose_table(db)) return 0;
    Rows rows = db.execute("SELECT version_id, is_applied FROM goose_db_version ORDER BY id DESC");
    std::set<std::int64_t> undone;
    for (int row = 0; row < rows.size(); ++row) {
        const std::int64_t version = rows.int64(row, 0);
        if (undone.contains(version)) continue;
        if (rows.boolean(row, 1)) return version;
        undone.insert(version);
    }
    return 0;
}

void ensure_goose_table(BlockingConnection& db) {
    if (has_goose_table(db)) return;
    // As goose creates it, with its row for version 0.
    db.execute(
        "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, "
        "is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id))");
    db.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)");
}

void apply(BlockingConnection& db, const Migration& migration) {
    const std::string version = std::to_string(migration.version);
    const std::string record =
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (" + version + ", true)";
    if (migration.in_transaction) {
        db.execute("BEGIN");
        try {
            for (auto statement : migration.statements) db.execute(std::string(statement));
            db.execute(record);
            db.execute("COMMIT");
        } catch (...) {
            db.execute("ROLLBACK");
            throw;
        }
    } else {
        for (auto statement : migration.statements) db.execute(std::string(statement));
        db.execute(record);
    }
}

// Polled rather than waited for: a session blocked in pg_advisory_lock() holds a snapshot,
// and CREATE INDEX CONCURRENTLY in the session holding the lock waits for every snapshot, so
// two starting replicas would deadlock.
void take_migration_lock(BlockingConnection& db, const std::string& lock,
                         const GiveUpWaiting& give_up) {
    for (int attempt = 0;; ++attempt) {
        if (db.execute("SELECT pg_try_advisory_lock(" + lock + ")").boolean(0, 0)) return;
        if (give_up && give_up()) throw MigrationLockBusy();
        if (attempt % 50 == 0) spdlog::info("waiting for another process's migrations");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

}  // namespace

std::vector<std::int64_t> known_versions() {
    std::vector<std::int64_t> versions;
    for (const auto& migration : migrations()) versions.push_back(migration.version);
    return versions;
}

SchemaStatus read_schema_status(BlockingConnection& db) {
    SchemaStatus status;
    status.known_versions = known_versions();
    status.current_version = goose_version(db);
    const auto& known = status.known_versions;
    auto current = std::find(known.begin(), known.end(), status.current_version);
    // A version this build does not know leaves every known one listed, as the reference
    // does for version 0.
    status.unapplied_versions.assign(current == known.end() ? known.begin() : current + 1,
                                     known.end());
    status.has_tables =
        !db.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'flows_v3'")
             .empty();
    return status;
}

SchemaStatus read_schema_status_after_migrations(BlockingConnection& db,
                                                 const GiveUpWaiting& give_up) {
    const std::string lock(kMigrationLock);
    take_migration_lock(db, lock, give_up);
    try {
        auto status = read_schema_status(db);
        db.execute("SELECT pg_advisory_unlock(" + lock + ")");
        return status;
    } catch (...) {
        db.execute("SELECT pg_advisory_unlock(" + lock + ")");
        throw;
    }
}

std::vector<std::int64_t> apply_migrations(BlockingConnection& db, const GiveUpWaiting& give_up) {
    const std::string lock(kMigrationLock);
    take_migration_lock(db, lock, give_up);
    std::vector<std::int64_t> applied;
    try {
        ensure_goose_table(db);
        const std::int64_t current = goose_version(db);
        for (const auto& migration : migrations()) {
            if (migration.version <= current) continue;
            spdlog::info("applying migration {}", migration.version);
            try {
                apply(db, migration);
            } catch (const ConnectionFailed&) {
                throw;  // worth retrying, unlike a failed migration
            } catch (const std::exception& e) {
                throw std::runtime_error("migration " + std::to_string(migration.version) +
                                         " failed: " + e.what());
            }
            applied.push_back(migration.version);
        }
    } catch (...) {
        db.execute("SELECT pg_advisory_unlock(" + lock + ")");
        throw;
    }
    db.execute("SELECT pg_advisory_unlock(" + lock + ")");
    return applied;
}

}  // namespace mf::pg
