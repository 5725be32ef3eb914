#include <array>
#include <stdexcept>

#include "store/sql_filters.hpp"
#include "store/sqlite/sqlite_operations.hpp"
#include "store/sqlite/sqlite_rows.hpp"

namespace mf::sqlite {
namespace {

using sql::end_step_records;
using sql::FieldKind;
using sql::FilterField;
using sql::kRunInactiveCutoffSeconds;
using sql::like_pattern;

template <class T>
std::vector<T> collect(Statement statement, T (*read_row)(const Statement&)) {
    std::vector<T> rows;
    while (statement.step()) rows.push_back(read_row(statement));
    return rows;
}

template <class T>
Result<T> single(Statement statement, T (*read_row)(const Statement&)) {
    if (!statement.step()) return Error::not_found();
    return read_row(statement);
}

SqlQuery& limit(SqlQuery& query, const std::optional<Paging>& paging) {
    // One row more than the page, so that the caller can tell whether another page exists.
    if (paging) query.sql(" LIMIT ").value(paging->limit + 1);
    return query;
}

// --- Run and task filters (docs/api.md#filters) ---

// The verified owner (docs/api.md#objects): user_name when system_tags holds "user:<user_name>".
constexpr std::string_view kRunOwner =
    "(CASE WHEN r.user_name IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(r.system_tags) "
    "WHERE type = 'text' AND value = 'user:' || r.user_name) THEN r.user_name END)";

// The derived run status (docs/api.md#run-status): OK's value, cast as PostgreSQL casts text to
// boolean, decides, unless ATT is newer than a false OK; without OK, the heartbeat does.
SqlQuery& run_status(SqlQuery& query, std::int64_t now_s) {
    query.sql("(CASE (SELECT pg_bool(m.value)");
    end_step_records(query, "attempt_ok").sql(" ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1)");
    query.sql(" WHEN 1 THEN 'completed' WHEN 0 THEN (CASE WHEN (SELECT max(m.ts_epoch)");
    end_step_records(query, "attempt_ok").sql(") < (SELECT max(m.ts_epoch)");
    end_step_records(query, "attempt").sql(") THEN 'running' ELSE 'failed' END)");
    query.sql(" ELSE (CASE WHEN r.last_heartbeat_ts IS NOT NULL AND abs(").value(now_s);
    query.sql(" - r.last_heartbeat_ts) <= ").value(kRunInactiveCutoffSeconds);
    return query.sql(" THEN 'running' ELSE 'failed' END) END)");
}

std::optional<RunStatus> parse_status(const std::optional<std::string>& text) {
    if (text == "running") return RunStatus::running;
    if (text == "completed") return RunStatus::completed;
    if (text == "failed") return RunStatus::failed;
    return std::nullopt;
}

constexpr auto kRunFilterFields = sql::run_filter_fields(kRunOwner);

std::string_view comparison(FilterOp op) {
    // ILIKE: SQLite's LIKE ignores ASCII case; the ESCAPE clause added with the pattern makes
    // backslash escape as in PostgreSQL.
    static constexpr sql::Operators kOperators{" IS ", " LIKE "};
    return sql::comparison(op, kOperators);
}

// " AND (field op v1 OR field op v2 ...)". Values are bound as text: against an INTEGER
// column SQLite compares them as numbers, as PostgreSQL's cast does.
void append_filter(SqlQuery& query, const FilterField& field, const Filter& filter,
                   std::int64_t now_s) {
    if (filter.values.empty()) return;
    const bool like = sql::is_like(filter.op);
    // PostgreSQL compares jsonb by value, not by text.
    const bool as_json =
        field.kind == FieldKind::json && (filter.op == FilterOp::eq || filter.op == FilterOp::ne);
    auto operand = [&] {
        if (field.kind == FieldKind::status) {
            run_status(query, now_s);
        } else if (as_json) {
            query.sql("json(").sql(field.expression).sql(")");
        } else {
            query.sql(field.expression);
        }
    };
    query.sql(" AND (");
    for (std::size_t i = 0; i < filter.values.size(); ++i) {
        if (i > 0) query.sql(" OR ");
        operand();
        const auto& value = filter.values[i];
        if (!value) {
            query.sql(" IS NULL");
        } else if (like) {
            query.sql(comparison(filter.op)).value(like_pattern(filter.op, *value));
            query.sql(" ESCAPE '\\'");
        } else if (as_json) {
            query.sql(comparison(filter.op)).sql("json(").value(*value).sql(")");
        } else {
            query.sql(comparison(filter.op)).value(*value);
        }
    }
    query.sql(")");
}

// append_filter with the clock that the status filter compares heartbeats to.
auto append_at(std::int64_t now_s) {
    return [now_s](SqlQuery& query, const FilterField& field, const Filter& filter) {
        append_filter(query, field, filter, now_s);
    };
}

// _tags filters: exact membership in tags ∪ system_tags, or a case-sensitive substring of
// the tags' JSON text.
void append_tag_filter(SqlQuery& query, const TagFilter& filter) {
    if (filter.values.empty()) return;
    const bool every =
        filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::likeall;
    const bool exact = filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::any;
    query.sql(" AND (");
    for (std::size_t i = 0; i < filter.values.size(); ++i) {
        if (i > 0) query.sql(every ? " AND " : " OR ");
        const std::string& tag = filter.values[i];
        if (exact) {
            query.sql("(EXISTS (SELECT 1 FROM json_each(r.tags) WHERE type = 'text' AND value = ")
                .value(tag)
                .sql(
                    ") OR EXISTS (SELECT 1 FROM json_each(r.system_tags) WHERE type = 'text' "
                    "AND value = ")
                .value(tag)
                .sql("))");
        } else {
            query.sql("(instr(r.tags, ").value(tag).sql(") > 0 OR instr(r.system_tags, ");
            query.value(tag).sql(") > 0)");
        }
    }
    query.sql(")");
}

// The artifacts the scope names, joined to their run r (and task t for one task).
SqlQuery& from_artifact_scope(SqlQuery& query, const ArtifactScope& scope) {
    if (scope.task) {
        return from_task(query,
                         " JOIN artifact_v3 a ON a.flow_id = t.flow_id AND a.run_number = "
                         "t.run_number AND a.step_name = t.step_name AND a.task_id = t.task_id",
                         scope.flow_id, scope.run, *scope.step_name, *scope.task);
    }
    from_run(query, " JOIN artifact_v3 a ON a.flow_id = r.flow_id AND a.run_number = r.run_number",
             scope.flow_id, scope.run);
    if (scope.step_name) query.sql(" AND a.step_name = ").value(*scope.step_name);
    return query;
}

constexpr std::string_view kJoinTaskArtifacts =
    " JOIN artifact_v3 a ON a.flow_id = t.flow_id AND a.run_number = t.run_number AND "
    "a.step_name = t.step_name AND a.task_id = t.task_id";

constexpr std::string_view kArtifactOrder =
    " ORDER BY a.ts_epoch DESC, a.task_id DESC, a.name DESC";

// The same order for one task's artifacts. The unary + keeps SQLite from walking the whole
// run's artifacts in the run-order index to save sorting the task's few rows; they are found
// by the primary key instead.
constexpr std::string_view kTaskArtifactOrder =
    " ORDER BY +a.ts_epoch DESC, a.task_id DESC, a.name DESC";

}  // namespace

Result<Flow> read_flow(Connection& db, const std::string& flow_id) {
    SqlQuery query;
    query.sql("SELECT ")
        .sql(kFlowColumns)
        .sql(" FROM flows_v3 f WHERE f.flow_id = ")
        .value(flow_id);
    return single(query.prepare(db), flow_row);
}

Result<std::vector<Flow>> read_flows(Connection& db, const std::optional<Paging>& paging) {
    SqlQuery query;
    query.sql("SELECT ").sql(kFlowColumns).sql(" FROM flows_v3 f");
    if (paging && paging->after) {
        query.sql(" WHERE (f.ts_epoch, f.flow_id) < (").value(paging->after->ts_epoch).sql(", ");
        query.value(paging->after->name).sql(")");
    }
    query.sql(" ORDER BY f.ts_epoch DESC, f.flow_id DESC");
    return collect(limit(query, paging).prepare(db), flow_row);
}

Result<Run> read_run(Connection& db, const RunPath& path) {
    SqlQuery query;
    query.sql("SELECT ").sql(kRunColumns);
    from_run(query, "", path.flow_id, path.run);
    return single(query.prepare(db), run_row);
}

Result<std::vector<Run>> read_runs(Connection& db, const std::string& flow_id,
                                   const RunQuery& run_query, std::int64_t now_s) {
    SqlQuery query;
    query.sql("SELECT ").sql(kRunColumns).sql(", ");
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
    Statement statement = limit(query, paging).prepare(db);
    std::vector<Run> runs;
    while (statement.step()) {
        Run run = run_row(statement);
        run.status = parse_status(statement.optional_text(8));
        runs.push_back(std::move(run));
    }
    return runs;
}

Result<Step> read_step(Connection& db, const StepPath& path) {
    SqlQuery query;
    query.sql("SELECT ").sql(kStepColumns);
    from_run(query, " JOIN steps_v3 s ON s.flow_id = r.flow_id AND s.run_number = r.run_number",
             path.flow_id, path.run);
    query.sql(" AND s.step_name = ").value(path.step_name);
    return single(query.prepare(db), step_row);
}

Result<std::vector<Step>> read_steps(Connection& db, const RunPath& path) {
    SqlQuery query;
    query.sql("SELECT ").sql(kStepColumns);
    from_run(query, " JOIN steps_v3 s ON s.flow_id = r.flow_id AND s.run_number = r.run_number",
             path.flow_id, path.run);
    query.sql(" ORDER BY s.step_name");  // BINARY collation: byte order
    return collect(query.prepare(db), step_row);
}

Result<Task> read_task(Connection& db, const TaskPath& path) {
    SqlQuery query;
    query.sql("SELECT ").sql(kTaskColumns);
    from_task(query, "", path.flow_id, path.run, path.step_name, path.task);
    return single(query.prepare(db), task_row);
}

Result<std::vector<Task>> read_tasks(Connection& db, const StepPath& path,
                                     const TaskQuery& task_query) {
    SqlQuery query;
    query.sql("SELECT ").sql(kTaskColumns);
    from_run(query, kJoinTasks, path.flow_id, path.run);
    query.sql(" AND t.step_name = ").value(path.step_name);
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
    return collect(limit(query, paging).prepare(db), task_row);
}

Result<std::vector<Task>> read_tasks_by_metadata(Connection& db, const StepPath& path,
                                                 const TaskPatternQuery& pattern_query) {
    // As in the reference, which tests the parameters' truth, an empty one sets no condition.
    auto condition = [](const std::optional<std::string>& value) {
        return value && !value->empty() ? &*value : nullptr;
    };
    const std::string* field_name = condition(pattern_query.field_name);
    const std::string* pattern = condition(pattern_query.pattern);
    if (pattern) {
        // Compiled here first so that a bad pattern is the client's error, not a failed query.
        try {
            db.regexes().get(*pattern);
        } catch (const std::invalid_argument& e) {
            return Error::invalid(std::string("invalid regular expression: ") + e.what());
        }
    }
    SqlQuery query;
    query.sql("SELECT ").sql(kTaskColumns);
    from_run(query, kJoinTasks, path.flow_id, path.run);
    query.sql(" AND t.step_name = ").value(path.step_name);
    query.sql(
        " AND EXISTS (SELECT 1 FROM metadata_v3 m WHERE m.flow_id = t.flow_id AND "
        "m.run_number = t.run_number AND m.step_name = t.step_name AND m.task_id = t.task_id");
    if (field_name) query.sql(" AND m.field_name = ").value(*field_name);
    if (pattern) query.sql(" AND regexp(").value(*pattern).sql(", m.value)");
    query.sql(") ORDER BY t.task_id");
    return collect(query.prepare(db), task_row);
}

Result<std::vector<Metadata>> read_task_metadata(Connection& db, const TaskPath& path,
                                                 const std::optional<Paging>& paging) {
    SqlQuery query;
    query.sql("SELECT ").sql(kMetadataColumns);
    from_task(query,
              " JOIN metadata_v3 m ON m.flow_id = t.flow_id AND m.run_number = t.run_number AND "
              "m.step_name = t.step_name AND m.task_id = t.task_id",
              path.flow_id, path.run, path.step_name, path.task);
    if (paging && paging->after) {
        query.sql(" AND (m.ts_epoch, m.id) < (").value(paging->after->ts_epoch).sql(", ");
        query.value(paging->after->id).sql(")");
    }
    query.sql(" ORDER BY m.ts_epoch DESC, m.id DESC");
    return collect(limit(query, paging).prepare(db), metadata_row);
}

Result<std::vector<Metadata>> read_run_metadata(Connection& db, const RunPath& path,
                                                const std::optional<Paging>& paging) {
    SqlQuery query;
    query.sql("SELECT ").sql(kMetadataColumns);
    from_run(query, " JOIN metadata_v3 m ON m.flow_id = r.flow_id AND m.run_number = r.run_number",
             path.flow_id, path.run);
    if (paging && paging->after) {
        query.sql(" AND (m.ts_epoch, m.id) < (").value(paging->after->ts_epoch).sql(", ");
        query.value(paging->after->id).sql(")");
    }
    query.sql(" ORDER BY m.ts_epoch DESC, m.id DESC");
    return collect(limit(query, paging).prepare(db), metadata_row);
}

Result<Artifact> read_artifact(Connection& db, const TaskPath& path, const std::string& name,
                               std::optional<std::int32_t> attempt) {
    SqlQuery query;
    query.sql("SELECT ").sql(kArtifactColumns);
    from_task(query, kJoinTaskArtifacts, path.flow_id, path.run, path.step_name, path.task);
    query.sql(" AND a.name = ").value(name).sql(" AND a.attempt_id = ");
    if (attempt) {
        query.value(std::int64_t{*attempt});
    } else {
        // The latest attempt is the one of the task's highest-attempt artifact literally
        // named "name", which Metaflow writes on every attempt (docs/api.md#artifacts).
        query.sql(
            "coalesce((SELECT max(b.attempt_id) FROM artifact_v3 b WHERE b.flow_id = t.flow_id "
            "AND b.run_number = t.run_number AND b.step_name = t.step_name AND b.task_id = "
            "t.task_id AND b.name = 'name'), 0)");
    }
    return single(query.prepare(db), artifact_row);
}

Result<std::vector<Artifact>> read_artifacts(Connection& db, const ArtifactScope& scope,
                                             const std::optional<Paging>& paging) {
    if (scope.task && !scope.step_name) return Error::invalid("a task scope needs its step");
    SqlQuery query;
    query.sql("SELECT ").sql(kArtifactColumns);
    from_artifact_scope(query, scope);
    if (paging && !paging->legacy_rows) {
        // The newest row per (task, name), whatever its attempt.
        query.sql(
            " AND a.attempt_id = (SELECT b.attempt_id FROM artifact_v3 b WHERE b.flow_id = "
            "a.flow_id AND b.run_number = a.run_number AND b.task_id = a.task_id AND b.name = "
            "a.name ORDER BY b.ts_epoch DESC, b.attempt_id DESC LIMIT 1)");
    } else {
        // Only the rows of each task's highest attempt among its artifacts.
        query.sql(
            " AND a.attempt_id = (SELECT max(b.attempt_id) FROM artifact_v3 b WHERE b.flow_id = "
            "a.flow_id AND b.run_number = a.run_number AND b.step_name = a.step_name AND "
            "b.task_id = a.task_id)");
    }
    if (paging && paging->after) {
        query.sql(" AND (a.ts_epoch, a.task_id, a.name) < (").value(paging->after->ts_epoch);
        query.sql(", ").value(paging->after->id).sql(", ").value(paging->after->name).sql(")");
    }
    query.sql(scope.task ? kTaskArtifactOrder : kArtifactOrder);
    return collect(limit(query, paging).prepare(db), artifact_row);
}

Result<std::vector<Artifact>> read_attempt_artifacts(Connection& db, const TaskPath& path,
                                                     std::int32_t attempt) {
    SqlQuery query;
    query.sql("SELECT ").sql(kArtifactColumns);
    from_task(query, kJoinTaskArtifacts, path.flow_id, path.run, path.step_name, path.task);
    query.sql(" AND a.attempt_id = ").value(std::int64_t{attempt}).sql(kTaskArtifactOrder);
    return collect(query.prepare(db), artifact_row);
}

}  // namespace mf::sqlite
