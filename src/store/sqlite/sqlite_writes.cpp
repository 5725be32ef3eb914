#include "model/heartbeat.hpp"
#include "store/sqlite/sqlite_operations.hpp"
#include "store/sqlite/sqlite_rows.hpp"

namespace mf::sqlite {
namespace {

// Messages worded as PostgreSQL words them for the reference, which clients may show.
Error duplicate_key(std::string_view constraint, std::string_view columns,
                    std::string_view values) {
    return Error::already_exists("duplicate key value violates unique constraint \"" +
                                 std::string(constraint) + "\"\nDETAIL:  Key (" +
                                 std::string(columns) + ")=(" + std::string(values) +
                                 ") already exists.");
}

Error missing_key(std::string_view table, std::string_view constraint, std::string_view columns,
                  std::string_view values, std::string_view parent_table) {
    return Error::missing_parent("insert or update on table \"" + std::string(table) +
                                 "\" violates foreign key constraint \"" + std::string(constraint) +
                                 "\"\nDETAIL:  Key (" + std::string(columns) + ")=(" +
                                 std::string(values) + ") is not present in table \"" +
                                 std::string(parent_table) + "\".");
}

std::string key_text(const ObjectKey& key) {
    return key.is_number() ? std::to_string(key.as_number()) : key.as_name();
}

// The run a path names, as the rows below it need it.
struct ParentRun {
    std::int64_t run_number = 0;
    OptString run_id;
    JsonText tags;
    JsonText system_tags;
};

std::optional<ParentRun> find_run(Connection& db, const std::string& flow_id,
                                  const ObjectKey& run) {
    SqlQuery query;
    query.sql("SELECT r.run_number, r.run_id, r.tags, r.system_tags");
    Statement row = from_run(query, "", flow_id, run).prepare(db);
    if (!row.step()) return std::nullopt;
    return ParentRun{row.int64(0), row.optional_text(1), row.optional_text(2).value_or(kJsonNull),
                     row.optional_text(3).value_or(kJsonNull)};
}

// The task a path names, with the ids its metadata and artifacts copy.
struct ParentTask {
    std::int64_t run_number = 0;
    OptString run_id;
    std::int64_t task_id = 0;
    OptString task_name;
};

std::optional<ParentTask> find_task(Connection& db, const TaskPath& path) {
    SqlQuery query;
    query.sql("SELECT t.run_number, r.run_id, t.task_id, t.task_name");
    from_task(query, "", path.flow_id, path.run, path.step_name, path.task);
    Statement row = query.prepare(db);
    if (!row.step()) return std::nullopt;
    return ParentTask{row.int64(0), row.optional_text(1), row.int64(2), row.optional_text(3)};
}

// Inserts with RETURNING and gives the one returned value.
std::int64_t insert_returning_id(Statement& insert) {
    if (!insert.step()) throw SqliteError(SQLITE_INTERNAL, "INSERT ... RETURNING returned no row");
    std::int64_t id = insert.int64(0);
    insert.run();
    return id;
}

// The heartbeat update (docs/api.md#heartbeats): the check and the write are one statement, so that
// of two concurrent heartbeats only one can see the old value.
SqlQuery& set_heartbeat(SqlQuery& query, std::string_view table, std::int64_t now_s) {
    return query.sql("UPDATE ").sql(table).sql(" SET last_heartbeat_ts = ").value(now_s);
}

SqlQuery& heartbeat_due(SqlQuery& query, std::string_view column, std::int64_t now_s) {
    query.sql(" AND (").sql(column).sql(" IS NULL OR ").sql(column).sql(" <= ");
    return query.value(now_s - kHeartbeatIntervalSeconds).sql(")");
}

bool refresh_run_heartbeat(Connection& db, const std::string& flow_id, const ObjectKey& run,
                           std::int64_t now_s) {
    SqlQuery query;
    set_heartbeat(query, "runs_v3 AS r", now_s).sql(" WHERE r.flow_id = ").value(flow_id);
    match_run(query.sql(" AND "), run);
    heartbeat_due(query, "r.last_heartbeat_ts", now_s).prepare(db).run();
    return db.changes() == 1;
}

}  // namespace

Result<Ok> ping(Connection& db) {
    db.prepare("SELECT 1").run();
    return Ok{};
}

Result<Flow> insert_flow(Connection& db, const NewFlow& flow) {
    try {
        db.prepare(
              "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) "
              "VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(1, flow.flow_id)
            .bind(2, flow.user_name)
            .bind(3, flow.ts_epoch)
            .bind(4, flow.tags)
            .bind(5, flow.system_tags)
            .run();
    } catch (const SqliteError& e) {
        if (!is_duplicate_key(e)) throw;
        return duplicate_key("flows_v3_pkey", "flow_id", flow.flow_id);
    }
    return Flow{flow.flow_id, flow.user_name, flow.ts_epoch, flow.tags, flow.system_tags};
}

Result<Run> insert_run(Connection& db, const NewRun& run) {
    // Checked here rather than left to the foreign key, whose error names no key.
    if (!db.prepare("SELECT 1 FROM flows_v3 WHERE flow_id = ?1").bind(1, run.flow_id).step()) {
        return missing_key("runs_v3", "runs_v3_flow_id_fkey", "flow_id", run.flow_id, "flows_v3");
    }
    std::int64_t run_number = 0;
    try {
        Statement insert = db.prepare(
            "INSERT INTO runs_v3 (flow_id, user_name, ts_epoch, tags, system_tags, run_id, "
            "last_heartbeat_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING run_number");
        insert.bind(1, run.flow_id)
            .bind(2, run.user_name)
            .bind(3, run.ts_epoch)
            .bind(4, run.tags)
            .bind(5, run.system_tags)
            .bind(6, run.run_id)
            .bind(7, run.heartbeat_ts);
        run_number = insert_returning_id(insert);
    } catch (const SqliteError& e) {
        if (!is_duplicate_key(e)) throw;
        return duplicate_key("runs_v3_flow_id_run_id_key", "flow_id, run_id",
                             run.flow_id + ", " + run.run_id.value_or(""));
    }
    return Run{
        .flow_id = run.flow_id,
        .run_number = run_number,
        .run_id = run.run_id,
        .user_name = run.user_name,
        .ts_epoch = run.ts_epoch,
        .tags = run.tags,
        .system_tags = run.system_tags,
        .last_heartbeat_ts = run.heartbeat_ts,
        .status = std::nullopt,
    };
}

Result<Step> insert_step(Connection& db, const StepPath& path, const NewStep& step) {
    auto run = find_run(db, path.flow_id, path.run);
    if (!run) {
        return Error::missing_parent("run " + path.flow_id + "/" + key_text(path.run) +
                                     " does not exist");
    }
    // Steps always carry a string run id: the run's own, or else its number (docs/api.md#ids).
    std::string run_id = run->run_id.value_or(std::to_string(run->run_number));
    try {
        db.prepare(
              "INSERT INTO steps_v3 (flow_id, run_number, step_name, user_name, ts_epoch, tags, "
              "system_tags, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .bind(1, path.flow_id)
            .bind(2, run->run_number)
            .bind(3, path.step_name)
            .bind(4, step.user_name)
            .bind(5, step.ts_epoch)
            .bind(6, step.tags)
            .bind(7, step.system_tags)
            .bind(8, run_id)
            .run();
    } catch (const SqliteError& e) {
        if (!is_duplicate_key(e)) throw;
        return duplicate_key(
            "steps_v3_pkey", "flow_id, run_number, step_name",
            path.flow_id + ", " + std::to_string(run->run_number) + ", " + path.step_name);
    }
    return Step{
        .flow_id = path.flow_id,
        .run_number = run->run_number,
        .run_id = std::move(run_id),
        .step_name = path.step_name,
        .user_name = step.user_name,
        .ts_epoch = step.ts_epoch,
        .tags = std::move(run->tags),
        .system_tags = std::move(run->system_tags),
    };
}

Result<Task> insert_task(Connection& db, const StepPath& path, const NewTask& task) {
    auto run = find_run(db, path.flow_id, path.run);
    if (!run) {
        return Error::missing_parent("run " + path.flow_id + "/" + key_text(path.run) +
                                     " does not exist");
    }
    bool step_exists =
        db.prepare(
              "SELECT 1 FROM steps_v3 WHERE flow_id = ?1 AND run_number = ?2 AND step_name = ?3")
            .bind(1, path.flow_id)
            .bind(2, run->run_number)
            .bind(3, path.step_name)
            .step();
    if (!step_exists) {
        return missing_key(
            "tasks_v3", "tasks_v3_flow_id_run_number_step_name_fkey",
            "flow_id, run_number, step_name",
            path.flow_id + ", " + std::to_string(run->run_number) + ", " + path.step_name,
            "steps_v3");
    }
    std::int64_t task_id = 0;
    try {
        Statement insert = db.prepare(
            "INSERT INTO tasks_v3 (flow_id, run_number, step_name, user_name, ts_epoch, tags, "
            "system_tags, run_id, task_name, last_heartbeat_ts) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING task_id");
        insert.bind(1, path.flow_id)
            .bind(2, run->run_number)
            .bind(3, path.step_name)
            .bind(4, task.user_name)
            .bind(5, task.ts_epoch)
            .bind(6, task.tags)
            .bind(7, task.system_tags)
            .bind(8, run->run_id)
            .bind(9, task.task_name)
            .bind(10, task.heartbeat_ts);
        task_id = insert_returning_id(insert);
    } catch (const SqliteError& e) {
        if (!is_duplicate_key(e)) throw;
        return duplicate_key("tasks_v3_flow_id_run_number_step_name_task_name_key",
                             "flow_id, run_number, step_name, task_name",
                             path.flow_id + ", " + std::to_string(run->run_number) + ", " +
                                 path.step_name + ", " + task.task_name.value_or(""));
    }
    if (task.heartbeat_ts) {
        // A heartbeating client's new task counts as a sign of life of its run
        // (docs/api.md#heartbeats).
        refresh_run_heartbeat(db, path.flow_id, ObjectKey::number(run->run_number),
                              *task.heartbeat_ts);
    }
    return Task{
        .flow_id = path.flow_id,
        .run_number = run->run_number,
        .run_id = run->run_id,
        .step_name = path.step_name,
        .task_id = task_id,
        .task_name = task.task_name,
        .user_name = task.user_name,
        .ts_epoch = task.ts_epoch,
        .tags = std::move(run->tags),
        .system_tags = std::move(run->system_tags),
        .last_heartbeat_ts = task.heartbeat_ts,
    };
}

Result<bool> update_run_heartbeat(Connection& db, const RunPath& path, std::int64_t now_s) {
    return refresh_run_heartbeat(db, path.flow_id, path.run, now_s);
}

Result<bool> update_task_heartbeat(Connection& db, const TaskPath& path, std::int64_t now_s) {
    refresh_run_heartbeat(db, path.flow_id, path.run, now_s);
    SqlQuery query;
    set_heartbeat(query, "tasks_v3", now_s).sql(" WHERE task_id = (SELECT t.task_id");
    from_task(query, "", path.flow_id, path.run, path.step_name, path.task).sql(")");
    heartbeat_due(query, "last_heartbeat_ts", now_s).prepare(db).run();
    return db.changes() == 1;
}

Result<MutatedTags> update_run_tags(Connection& db, const RunPath& path,
                                    const TagMutation& mutation) {
    SqlQuery query;
    query.sql("SELECT r.run_number, r.tags, r.system_tags");
    Statement run = from_run(query, "", path.flow_id, path.run).prepare(db);
    if (!run.step()) return Error::not_found();
    const std::int64_t run_number = run.int64(0);
    auto mutated = mutate_tags(run.optional_text(1).value_or(kJsonNull),
                               run.optional_text(2).value_or(kJsonNull), mutation);
    if (mutated && mutated->changed) {
        db.prepare("UPDATE runs_v3 SET tags = ?1 WHERE run_number = ?2")
            .bind(1, mutated->tags)
            .bind(2, run_number)
            .run();
    }
    return mutated;
}

Result<std::int64_t> insert_metadata(Connection& db, const TaskPath& path,
                                     const std::vector<NewMetadata>& records,
                                     std::int64_t ts_epoch) {
    auto task = find_task(db, path);
    if (!task) return Error::register_first();
    Statement insert = db.prepare(
        "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, value, "
        "type, user_name, ts_epoch, tags, system_tags, run_id, task_name) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    for (const auto& record : records) {
        insert.bind(1, path.flow_id)
            .bind(2, task->run_number)
            .bind(3, path.step_name)
            .bind(4, task->task_id)
            .bind(5, record.field_name)
            .bind(6, record.value)
            .bind(7, record.type)
            .bind(8, record.user_name)
            .bind(9, ts_epoch)
            .bind(10, record.tags)
            .bind(11, record.system_tags)
            .bind(12, task->run_id)
            .bind(13, task->task_name)
            .run();
        insert.reset();
    }
    return static_cast<std::int64_t>(records.size());
}

Result<std::int64_t> insert_artifacts(Connection& db, const TaskPath& path,
                                      const std::vector<NewArtifact>& artifacts,
                                      std::int64_t ts_epoch) {
    auto task = find_task(db, path);
    if (!task) return Error::register_first();
    // An artifact already stored for this attempt is kept as it is and not counted.
    Statement insert = db.prepare(
        "INSERT OR IGNORE INTO artifact_v3 (flow_id, run_number, step_name, task_id, name, "
        "location, ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, "
        "system_tags, run_id, task_name) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    std::int64_t created = 0;
    for (const auto& artifact : artifacts) {
        insert.bind(1, path.flow_id)
            .bind(2, task->run_number)
            .bind(3, path.step_name)
            .bind(4, task->task_id)
            .bind(5, artifact.name)
            .bind(6, artifact.location)
            .bind(7, artifact.ds_type)
            .bind(8, artifact.sha)
            .bind(9, artifact.type)
            .bind(10, artifact.content_type)
            .bind(11, artifact.user_name)
            .bind(12, std::int64_t{artifact.attempt_id})
            .bind(13, ts_epoch)
            .bind(14, artifact.tags)
            .bind(15, artifact.system_tags)
            .bind(16, task->run_id)
            .bind(17, task->task_name)
            .run();
        created += db.changes();
        insert.reset();
    }
    return created;
}

}  // namespace mf::sqlite
