#include "store/scale_fixture.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "store/open.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_migrations.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace mf {

const char* const kFixtureArtifactNames[kFixtureArtifactsPerTask] = {
    "name",           "_transition",   "_task_ok",   "_success", "_graph_info",
    "_foreach_stack", "_current_step", "_exception", "input",    "result"};

namespace {

// As the client posts them (reference trace): the run's system tags on runs, steps, tasks
// and artifacts, "attempt_id:0" on the attempt's metadata.
constexpr std::string_view kSystemTags =
    R"(["runtime:dev", "metaflow_version:2.19.38", "user:scale", "python_version:3.11.2"])";

// Field name, value, type, tags of each task's metadata, in posting order. The foreach step's
// tasks get "foreach-execution-path" ("body:<index>") for the last one, the others
// "script-name".
constexpr std::string_view kMetadataRows =
    "('attempt', '0', 'attempt', '[\"attempt_id:0\"]', 1), "
    "('runtime', 'dev', 'runtime', '[\"attempt_id:0\"]', 2), "
    "('python_version', '3.11.2', 'python_version', '[\"attempt_id:0\"]', 3), "
    "('user', 'scale', 'user', '[\"attempt_id:0\"]', 4), "
    "('metaflow_version', '2.19.38', 'metaflow_version', '[\"attempt_id:0\"]', 5), "
    "('ds-type', 'local', 'ds-type', '[\"attempt_id:0\"]', 6), "
    "('ds-root', '/tmp/ds/.metaflow', 'ds-root', '[\"attempt_id:0\"]', 7), "
    "('attempt-done', '0', 'attempt-done', '[\"attempt_id:0\"]', 8), "
    "('attempt_ok', 'True', 'internal_attempt_status', '[\"attempt_id:0\"]', 9), "
    "('*path*', '', '', '[\"attempt_id:0\"]', 10)";

class Dialect {
public:
    explicit Dialect(bool postgres) : postgres_(postgres) {}

    // "WITH series(i) AS (...) ": the integers 1..n.
    std::string series(std::int64_t n) const {
        const std::string count = std::to_string(n);
        if (postgres_) return "WITH series(i) AS (SELECT generate_series(1, " + count + ")) ";
        return "WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE "
               "i < " +
               count + ") ";
    }
    std::string json(std::string_view expression) const {
        if (postgres_) return "(" + std::string(expression) + ")::jsonb";
        return std::string(expression);
    }
    std::string hex40(std::string_view expression) const {
        if (postgres_) return "lpad(to_hex(" + std::string(expression) + "), 40, '0')";
        return "printf('%040x', " + std::string(expression) + ")";
    }

private:
    bool postgres_;
};

std::string quoted(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

// The statements that load the fixture, in order; each generates its rows from the rows
// before, so ids come from the database's own sequences.
std::vector<std::string> fixture_statements(const ScaleFixture& fixture, const Dialect& sql) {
    const std::string flow = quoted(fixture.flow_id);
    const std::string tags = sql.json("'[]'");
    const std::string system_tags = sql.json(quoted(kSystemTags));
    const std::string user = quoted(kFixtureUser);
    const std::string body = quoted(kFixtureForeachStep);
    const std::string first_ts = std::to_string(fixture.first_ts_epoch);
    const std::string big_run =
        "(SELECT max(run_number) FROM runs_v3 WHERE flow_id = " + flow + ")";
    // Steps start 10 ms after their run; the foreach tasks 1 ms apart after that; the end
    // step after the last of them.
    const std::string end_offset = std::to_string(fixture.big_step_tasks + 1'000);
    const std::string task_columns =
        "INSERT INTO tasks_v3 (flow_id, run_number, step_name, user_name, ts_epoch, tags, "
        "system_tags, run_id, task_name, last_heartbeat_ts) ";

    std::vector<std::string> statements;
    statements.push_back(
        "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) VALUES (" + flow +
        ", NULL, " + first_ts + ", NULL, NULL)");
    statements.push_back(
        sql.series(fixture.runs) +
        "INSERT INTO runs_v3 (flow_id, user_name, ts_epoch, tags, system_tags, run_id, "
        "last_heartbeat_ts) SELECT " +
        flow + ", " + user + ", " + first_ts + " + i * 60000, " + tags + ", " + system_tags +
        ", NULL, (" + first_ts + " + i * 60000) / 1000 + 30 FROM series ORDER BY i");
    const std::string step_insert =
        "INSERT INTO steps_v3 (flow_id, run_number, step_name, user_name, ts_epoch, tags, "
        "system_tags, run_id) SELECT r.flow_id, r.run_number, s.column1, " +
        user + ", r.ts_epoch + s.column2, " + tags + ", " + system_tags +
        ", CAST(r.run_number AS TEXT) FROM runs_v3 r CROSS JOIN (VALUES ";
    statements.push_back(step_insert + "('start', 10), ('end', " + end_offset +
                         ")) AS s WHERE r.flow_id = " + flow);
    statements.push_back(step_insert + "(" + body + ", 20)) AS s WHERE r.flow_id = " + flow +
                         " AND r.run_number = " + big_run);
    statements.push_back(task_columns + "SELECT s.flow_id, s.run_number, s.step_name, " + user +
                         ", s.ts_epoch + 1, " + tags + ", " + system_tags +
                         ", NULL, NULL, (s.ts_epoch + 1) / 1000 + 10 FROM steps_v3 s WHERE "
                         "s.flow_id = " +
                         flow + " AND s.step_name <> " + body +
                         " ORDER BY s.run_number, s.ts_epoch");
    statements.push_back(sql.series(fixture.big_step_tasks) + task_columns +
                         "SELECT s.flow_id, s.run_number, s.step_name, " + user +
                         ", s.ts_epoch + i, " + tags + ", " + system_tags +
                         ", NULL, NULL, (s.ts_epoch + i) / 1000 + 10 FROM series CROSS JOIN "
                         "steps_v3 s WHERE s.flow_id = " +
                         flow + " AND s.step_name = " + body + " ORDER BY i");
    const std::string first_body_task =
        "(SELECT min(task_id) FROM tasks_v3 WHERE flow_id = " + flow + " AND step_name = " + body +
        ")";
    // A retried task has a second attempt: attempt 0 failed (its attempt_ok is false), and
    // attempt 1 wrote every metadata row and artifact again, a minute later.
    const std::string retried = fixture.retry_every > 0
                                    ? "(t.step_name = " + body + " AND (t.task_id - " +
                                          first_body_task + ") % " +
                                          std::to_string(fixture.retry_every) + " = 0)"
                                    : std::string("1 = 0");
    const std::string attempts = " CROSS JOIN (VALUES (0), (1)) AS n";
    const std::string of_attempt = " AND (n.column1 = 0 OR " + retried + ")";
    statements.push_back(
        "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, value, "
        "type, user_name, ts_epoch, tags, system_tags, run_id, task_name) SELECT t.flow_id, "
        "t.run_number, t.step_name, t.task_id, CASE WHEN f.column1 <> '*path*' THEN f.column1 "
        "WHEN t.step_name = " +
        body +
        " THEN 'foreach-execution-path' ELSE 'script-name' END, CASE WHEN f.column1 IN "
        "('attempt', 'attempt-done') THEN CAST(n.column1 AS TEXT) WHEN f.column1 = 'attempt_ok' "
        "AND n.column1 = 0 AND " +
        retried + " THEN 'False' WHEN f.column1 <> '*path*' THEN f.column2 WHEN t.step_name = " +
        body + " THEN " + body + " || ':' || CAST(t.task_id - " + first_body_task +
        " AS TEXT) ELSE 'scale_flow.py' END, CASE WHEN f.column1 <> '*path*' THEN f.column3 "
        "WHEN t.step_name = " +
        body + " THEN 'foreach-execution-path' ELSE 'script-name' END, " + user +
        ", t.ts_epoch + 5 + n.column1 * 60000, " +
        sql.json("replace(f.column4, 'attempt_id:0', 'attempt_id:' || CAST(n.column1 AS TEXT))") +
        ", NULL, t.run_id, t.task_name FROM tasks_v3 t CROSS JOIN (VALUES " +
        std::string(kMetadataRows) + ") AS f" + attempts + " WHERE t.flow_id = " + flow +
        of_attempt + " ORDER BY t.task_id, n.column1, f.column5");
    std::string artifact_rows;
    for (int i = 0; i < kFixtureArtifactsPerTask; ++i) {
        if (i > 0) artifact_rows += ", ";
        artifact_rows += "(" + quoted(kFixtureArtifactNames[i]) + ", " + std::to_string(i) + ")";
    }
    statements.push_back(
        "INSERT INTO artifact_v3 (flow_id, run_number, step_name, task_id, name, location, "
        "ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, system_tags, "
        "run_id, task_name) SELECT t.flow_id, t.run_number, t.step_name, t.task_id, a.column1, "
        "':root:/tmp/ds/.metaflow', 'local', " +
        sql.hex40("t.task_id * 16 + a.column2") + ", 'metaflow.artifact', 'pickle-v4', " + user +
        ", n.column1, t.ts_epoch + 7 + n.column1 * 60000, " + tags + ", " + system_tags +
        ", t.run_id, t.task_name FROM tasks_v3 t CROSS JOIN (VALUES " + artifact_rows + ") AS a" +
        attempts + " WHERE t.flow_id = " + flow + of_attempt +
        " ORDER BY t.task_id, n.column1, a.column2");
    return statements;
}

constexpr const char* kTables[] = {"runs_v3", "steps_v3", "tasks_v3", "metadata_v3", "artifact_v3"};

std::string count_query(const char* table, const std::string& flow_id) {
    return std::string("SELECT count(*) FROM ") + table + " WHERE flow_id = " + quoted(flow_id);
}

std::string big_run_query(const std::string& flow_id) {
    return "SELECT max(run_number), (SELECT min(task_id) FROM tasks_v3 WHERE flow_id = " +
           quoted(flow_id) + " AND step_name = " + quoted(kFixtureForeachStep) +
           ") FROM runs_v3 WHERE flow_id = " + quoted(flow_id);
}

LoadedFixture load_into_sqlite(const std::string& path, const ScaleFixture& fixture) {
    SqliteOptions options;
    options.path = path;
    open_sqlite_store(options).reset();  // creates and migrates the file
    sqlite::Connection db(path, sqlite::Connection::Access::read_write, 5000);
    // A large page cache for this connection only: the indexes are built as rows arrive.
    db.execute_script("PRAGMA cache_size = -262144");
    db.execute_script("BEGIN IMMEDIATE");
    try {
        for (const auto& statement : fixture_statements(fixture, Dialect(false)))
            db.execute_script(statement.c_str());
        db.execute_script("COMMIT");
    } catch (...) {
        if (db.in_transaction()) db.execute_script("ROLLBACK");
        throw;
    }
    LoadedFixture loaded;
    sqlite::Statement ids = db.prepare(big_run_query(fixture.flow_id));
    ids.step();
    loaded.big_run_number = ids.int64(0);
    loaded.first_body_task_id = ids.int64(1);
    for (const char* table : kTables) {
        sqlite::Statement count = db.prepare(count_query(table, fixture.flow_id));
        count.step();
        loaded.rows[table] = count.int64(0);
    }
    return loaded;
}

LoadedFixture load_into_postgres(const std::string& url, const ScaleFixture& fixture) {
    // Migrates an empty database, refuses one at another version, as `serve` does.
    if (!pg::SchemaPreparation(url, pg::SchemaSetup{}).ready())
        throw std::runtime_error(
            "the PostgreSQL database does not answer, or another process is migrating it");
    pg::BlockingConnection db(url);
    db.execute("BEGIN");
    try {
        for (const auto& statement : fixture_statements(fixture, Dialect(true)))
            db.execute(statement);
        db.execute("COMMIT");
    } catch (...) {
        db.execute("ROLLBACK");
        throw;
    }
    // Fresh statistics and visibility map, as autovacuum leaves them after such a load: the
    // plans differ before it (index-only scans).
    if (fixture.vacuum_analyze) {
        for (const char* table : kTables) db.execute(std::string("VACUUM ANALYZE ") + table);
    }
    LoadedFixture loaded;
    pg::Rows ids = db.execute(big_run_query(fixture.flow_id));
    loaded.big_run_number = ids.int64(0, 0);
    loaded.first_body_task_id = ids.int64(0, 1);
    for (const char* table : kTables)
        loaded.rows[table] = db.execute(count_query(table, fixture.flow_id)).int64(0, 0);
    return loaded;
}

}  // namespace

ScaleFixture ScaleFixture::at_scale(int scale) {
    if (scale < 1) throw std::runtime_error("the scale must be 1 or more");
    ScaleFixture fixture;
    fixture.runs *= scale;
    fixture.big_step_tasks *= scale;
    return fixture;
}

std::string fixture_artifact_sha(std::int64_t task_id, int index) {
    char text[41];
    std::snprintf(text, sizeof text, "%040llx",
                  static_cast<unsigned long long>(task_id * 16 + index));
    return text;
}

LoadedFixture load_scale_fixture(const std::string& url, const ScaleFixture& fixture) {
    if (fixture.runs < 1 || fixture.big_step_tasks < 1)
        throw std::runtime_error("the fixture needs at least one run and one foreach task");
    if (auto path = sqlite_path(url)) return load_into_sqlite(*path, fixture);
    if (is_postgres_url(url)) return load_into_postgres(url, fixture);
    throw std::runtime_error("unknown database URL '" + url +
                             "': expected sqlite:PATH or postgresql://...");
}

}  // namespace mf
