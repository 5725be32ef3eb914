#include "store/postgres/pg_sql.hpp"

#include <array>

#include "model/heartbeat.hpp"
#include "store/sql_filters.hpp"

namespace mf::pg {
namespace {

using sql::end_step_records;
using sql::FieldKind;
using sql::FilterField;
using sql::kRunInactiveCutoffSeconds;
using sql::like_pattern;

JsonText json_column(const Rows& rows, int row, int column) {
    return rows.optional_text(row, column).value_or(kJsonNull);
}

// The verified owner (docs/api.md#objects), written as the reference's index expression so that the
// index serves the `user` filter.
constexpr std::string_view kRunOwner =
    "(CASE WHEN r.system_tags ? ('user:' || r.user_name) THEN r.user_name END)";

// The derived run status (docs/api.md#run-status): OK's value cast to boolean decides, unless ATT
// is newer than a false OK; without OK, the heartbeat does. Only the newest value is cast.
Query& run_status(Query& query, std::int64_t now_s) {
    query.sql("(CASE (SELECT m.value");
    end_step_records(query, "attempt_ok").sql(" ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1)");
    query.sql("::boolean WHEN true THEN 'completed' WHEN false THEN (CASE WHEN (SELECT ");
    query.sql("max(m.ts_epoch)");
    end_step_records(query, "attempt_ok").sql(") < (SELECT max(m.ts_epoch)");
    end_step_records(query, "attempt").sql(") THEN 'running' ELSE 'failed' END)");
    query.sql(" ELSE (CASE WHEN r.last_heartbeat_ts IS NOT NULL AND abs(").value(now_s);
    query.sql(" - r.last_heartbeat_ts) <= ").value(kRunInactiveCutoffSeconds);
    return query.sql(" THEN 'running' ELSE 'failed' END) END)");
}

constexpr auto kRunFilterFields = sql::run_filter_fields(kRunOwner);

std::string_view comparison(FilterOp op) {
    // IS with a value: null-safe equality, as the SQLite store compares.
    static constexpr sql::Operators kOperators{" IS NOT DISTINCT FROM ", " ILIKE "};
    return sql::comparison(op, kOperators);
}

// " AND (field op v1 OR field op v2 ...)". Values go as untyped text and PostgreSQL casts
// them to the column's type, as the reference has it.
void append_filter(Query& query, const FilterField& field, const Filter& filter,
                   std::int64_t now_s) {
    if (filter.values.empty()) return;
    const bool as_json =
        field.kind == FieldKind::json && (filter.op == FilterOp::eq || filter.op == FilterOp::ne);
    query.sql(" AND (");
    for (std::size_t i = 0; i < filter.values.size(); ++i) {
        if (i > 0) query.sql(" OR ");
        if (field.kind == FieldKind::status) {
            run_status(query, now_s);
        } else {
            query.sql(field.expression);
        }
        const auto& value = filter.values[i];
        if (!value) {
            query.sql(" IS NULL");
        } else if (as_json) {
            query.sql(comparison(filter.op)).value(*value).sql("::jsonb");
        } else {
            query.sql(comparison(filter.op)).value(like_pattern(filter.op, *value));
        }
    }
    query.sql(")");
}

// append_filter with the clock that the status filter compares heartbeats to.
auto append_at(std::int64_t now_s) {
    return [now_s](Query& query, const FilterField& field, const Filter& filter) {
        append_filter(query, field, filter, now_s);
    };
}

// _tags filters: exact membership in tags ∪ system_tags, or a case-sensitive substring of
// the tags' JSON text.
void append_tag_filter(Query& query, const TagFilter& filter) {
    if (filter.values.empty()) return;
    const bool every =
        filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::likeall;
    const bool exact = filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::any;
    query.sql(" AND (");
    for (std::size_t i = 0; i < filter.values.size(); ++i) {
        if (i > 0) query.sql(every ? " AND " : " OR ");
        const std::string& tag = filter.values[i];
        if (exact) {
            query.sql("(r.tags @> jsonb_build_array(").value(tag).sql("::text) OR ");
            query.sql("r.system_tags @> jsonb_build_array(").value(tag).sql("::text))");
        } else {
            query.sql("(strpos(r.tags::text, ").value(tag).sql(") > 0 OR strpos(");
            query.sql("r.system_tags::text, ").value(tag).sql(") > 0)");
        }
    }
    query.sql(")");
}

Query& heartbeat_due(Query& query, std::string_view column, std::int64_t now_s) {
    query.sql(" AND (").sql(column).sql(" IS NULL OR ").sql(column).sql(" <= ");
    return query.value(now_s - kHeartbeatIntervalSeconds).sql(")");
}

}  // namespace

Flow flow_row(const Rows& rows, int row) {
    return Flow{
        .flow_id = rows.text(row, 0),
        .user_name = rows.optional_text(row, 1),
        .ts_epoch = rows.int64(row, 2),
        .tags = json_column(rows, row, 3),
        .system_tags = json_column(rows, row, 4),
    };
}

Run run_row(const Rows& rows, int row) {
    return Run{
        .flow_id = rows.text(row, 0),
        .run_number = rows.int64(row, 1),
        .run_id = rows.optional_text(row, 2),
        .user_name = rows.optional_text(row, 3),
        .ts_epoch = rows.int64(row, 4),
        .tags = json_column(rows, row, 5),
        .system_tags = json_column(rows, row, 6),
        .last_heartbeat_ts = rows.optional_int64(row, 7),
        .status = std::nullopt,
    };
}

Step step_row(const Rows& rows, int row) {
    return Step{
        .flow_id = rows.text(row, 0),
        .run_number = rows.int64(row, 1),
        .run_id = rows.optional_text(row, 2),
        .step_name = rows.text(row, 3),
        .user_name = rows.optional_text(row, 4),
        .ts_epoch = rows.int64(row, 5),
        .tags = json_column(rows, row, 6),
        .system_tags = json_column(rows, row, 7),
    };
}

Task task_row(const Rows& rows, int row) {
    return Task{
        .flow_id = rows.text(row, 0),
        .run_number = rows.int64(row, 1),
        .run_id = rows.optional_text(row, 2),
        .step_name = rows.text(row, 3),
        .task_id = rows.int64(row, 4),
        .task_name = rows.optional_text(row, 5),
        .user_name = rows.optional_text(row, 6),
        .ts_epoch = rows.int64(row, 7),
        .tags = json_column(rows, row, 8),
        .system_tags = json_column(rows, row, 9),
        .last_heartbeat_ts = rows.optional_int64(row, 10),
    };
}

Metadata metadata_row(const Rows& rows, int row) {
    return Metadata{
        .id = rows.int64(row, 0),
        .flow_id = rows.text(row, 1),
        .run_number = rows.int64(row, 2),
        .run_id = rows.optional_text(row, 3),
        .step_name = rows.text(row, 4),
        .task_id = rows.int64(row, 5),
        .task_name = rows.optional_text(row, 6),
        .field_name = rows.text(row, 7),
        .value = rows.text(row, 8),
        .type = rows.text(row, 9),
        .user_name = rows.optional_text(row, 10),
        .ts_epoch = rows.int64(row, 11),
        .tags = json_column(rows, row, 12),
        .system_tags = json_column(rows, row, 13),
    };
}

Artifact artifact_row(const Rows& rows, int row) {
    return Artifact{
        .flow_id = rows.text(row, 0),
        .run_number = rows.int64(row, 1),
        .run_id = rows.optional_text(row, 2),
        .step_name = rows.text(row, 3),
        .task_id = rows.int64(row, 4),
        .task_name = rows.optional_text(row, 5),
        .name = rows.text(row, 6),
        .location = rows.text(row, 7),
        .ds_type = rows.text(row, 8),
        .sha = rows.optional_text(row, 9),
        .type = rows.optional_text(row, 10),
        .content_type = rows.optional_text(row, 11),
        .user_name = rows.optional_text(row, 12),
        .attempt_id = static_cast<std::int32_t>(rows.int64(row, 13)),
        .ts_epoch = rows.int64(row, 14),
        .tags = json_column(rows, row, 15),
        .system_tags = json_column(rows, row, 16),
    };
}

std::optional<std::string> json_value(const JsonText& json) {
    if (json == kJsonNull) return std::nullopt;
    return json;
}

Query& match_run(Query& query, const ObjectKey& run) {
    if (run.is_number()) return query.sql("r.run_number = ").value(run.as_number());
    return query.sql("r.run_id = ").value(run.as_name());
}

Query& run_number_of(Query& query, const std::string& flow_id, const ObjectKey& run) {
    if (run.is_number()) return query.value(run.as_number());
    query.sql("(SELECT run_number FROM runs_v3 WHERE flow_id = ").value(flow_id);
    return query.sql(" AND run_id = ").value(run.as_name()).sql(")");
}

Query& task_id_of(Query& query, const TaskPath& path) {
    if (path.task.is_number()) return query.value(path.task.as_number());
    query.sql("(SELECT task_id FROM tasks_v3 WHERE flow_id = ").value(path.flow_id);
    if (path.run.is_number()) {
        query.sql(" AND run_number = ").value(path.run.as_number());
    } else {
        // A task carries its run's run_id. Stated by it, and without run_number, the four
        // conditions match all the columns of the reference's (flow_id, run_id, step_name,
        // task_name) index and only the first of any other: with run_number, the step's
        // task-order index matches as many as the unique task-name key, and without
        // statistics PostgreSQL estimates both at one row and may walk the step's tasks.
        query.sql(" AND run_id = ").value(path.run.as_name());
    }
    query.sql(" AND step_name = ").value(path.step_name);
    return query.sql(" AND task_name = ").value(path.task.as_name()).sql(")");
}

Query& run_key(Query& query, std::string_view alias, const std::string& flow_id,
               const ObjectKey& run) {
    query.sql(alias).sql(".flow_id = ").value(flow_id).sql(" AND ").sql(alias);
    return run_number_of(query.sql(".run_number = "), flow_id, run);
}

Query& task_key(Query& query, std::string_view alias, const TaskPath& path) {
    run_key(query, alias, path.flow_id, path.run).sql(" AND ").sql(alias);
    query.sql(".step_name = ").value(path.step_name).sql(" AND ").sql(alias);
    return task_id_of(query.sql(".task_id = "), path);
}

Query& from_run(Query& query, std::string_view joins, const std::string& flow_id,
                const ObjectKey& run) {
    query.sql(" FROM runs_v3 r").sql(joins).sql(" WHERE r.flow_id = ").value(flow_id).sql(" AND ");
    return match_run(query, run);
}

Query& from_task(Query& query, const TaskPath& path, std::optional<TaskRows> rows) {
    // Each table is read by its own key columns with the request's values, and no join
    // condition carries a key from one table to another. The task row is read by its primary
    // key alone, behind OFFSET 0, which keeps the path's other key columns out of the
    // subquery: with them, an index that begins with them (the unique task-name key) looks
    // as cheap as the primary key to a plan made without statistics, and a generic plan
    // found the task by an index-only walk of the step's entries (40 ms at 50,000 tasks
    // against 0.1 ms; ScaleTest checks it). The path's conditions on t apply to the one row.
    query.sql(" FROM runs_v3 r, (SELECT * FROM tasks_v3 WHERE task_id = ");
    task_id_of(query, path).sql(" OFFSET 0) t");
    if (rows) query.sql(", ").sql(rows->table).sql(" ").sql(rows->alias);
    run_key(query.sql(" WHERE "), "r", path.flow_id, path.run).sql(" AND ");
    task_key(query, "t", path);
    if (rows) task_key(query.sql(" AND "), rows->alias, path);
    return query;
}

Query& limit(Query& query, const std::optional<Paging>& paging) {
    if (paging) query.sql(" LIMIT ").value(paging->limit + 1);
    return query;
}

Result<Query> runs_query(const std::string& flow_id, const RunQuery& run_query,
                         std::int64_t now_s) {
    Query query("SELECT ");
    query.sql(kRunColumns).sql(", ");
    if (run_query.with_status) {
        run_status(query, now_s);
    } else {
        query.sql("NULL");
    }
    query.sql(" FROM runs_v3 r WHERE r.flow_id = ").value(flow_id);
    if (auto ok = sql::append_filters(query, kRunFilterFields, run_query.filters, append_at(now_s));
        !ok)
        return ok.take_error();
    for (const auto& tag_filter : run_query.tag_filters) append_tag_filter(query, tag_filter);
    const auto& paging = run_query.paging;
    if (paging && paging->after) {
        query.sql(" AND (r.ts_epoch, r.run_number) < (").value(paging->after->ts_epoch).sql(", ");
        query.value(paging->after->id).sql(")");
    }
    query.sql(" ORDER BY r.ts_epoch DESC, r.run_number DESC");
    return std::move(limit(query, paging));
}

Result<Query> tasks_query(const StepPath& path, const TaskQuery& task_query) {
    Query query("SELECT ");
    query.sql(kTaskColumns);
    from_run(query, kJoinTasks, path.flow_id, path.run).sql(" AND ");
    run_key(query, "t", path.flow_id, path.run).sql(" AND t.step_name = ").value(path.step_name);
    query.sql(kListedTask);
    if (auto ok =
            sql::append_filters(query, sql::kTaskFilterFields, task_query.filters, append_at(0));
        !ok)
        return ok.take_error();
    const auto& paging = task_query.paging;
    if (paging && paging->after) {
        query.sql(" AND (t.ts_epoch, t.task_id) < (").value(paging->after->ts_epoch).sql(", ");
        query.value(paging->after->id).sql(")");
    }
    query.sql(" ORDER BY t.ts_epoch DESC, t.task_id DESC");
    return std::move(limit(query, paging));
}

Query run_heartbeat(const std::string& flow_id, const ObjectKey& run, std::int64_t now_s) {
    Query query("UPDATE runs_v3 AS r SET last_heartbeat_ts = ");
    query.value(now_s).sql(" WHERE r.flow_id = ").value(flow_id).sql(" AND ");
    match_run(query, run);
    heartbeat_due(query, "r.last_heartbeat_ts", now_s);
    query.sql(" RETURNING r.run_number");
    return query;
}

Query task_heartbeat(const TaskPath& path, std::int64_t now_s) {
    // The row by its primary key alone, the path checked on it behind OFFSET 0, as in
    // from_task: with the path's columns beside task_id, a plan made without statistics
    // walked the step's tasks in the unique task-name key.
    Query query("UPDATE tasks_v3 AS t SET last_heartbeat_ts = ");
    query.value(now_s).sql(" FROM (SELECT * FROM tasks_v3 WHERE task_id = ");
    task_id_of(query, path).sql(" OFFSET 0) k WHERE t.task_id = k.task_id AND ");
    task_key(query, "k", path);
    heartbeat_due(query, "t.last_heartbeat_ts", now_s);
    query.sql(" RETURNING t.run_number, t.task_id");
    return query;
}

}  // namespace mf::pg
