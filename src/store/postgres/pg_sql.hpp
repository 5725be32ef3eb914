#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/entities.hpp"
#include "model/ids.hpp"
#include "model/query.hpp"
#include "model/result.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/sql_columns.hpp"
#include "store/store.hpp"

// The SQL of the PostgreSQL store, on the reference's schema, with the table
// aliases of store/sql_columns.hpp.
namespace mf::pg {

using sql::kArtifactColumns;
using sql::kFlowColumns;
using sql::kJoinTasks;
using sql::kMetadataColumns;
using sql::kRunColumns;
using sql::kStepColumns;
using sql::kTaskColumns;

// Readers of one row of the matching column list, starting at column 0.
Flow flow_row(const Rows& rows, int row);
Run run_row(const Rows& rows, int row);
Step step_row(const Rows& rows, int row);
Task task_row(const Rows& rows, int row);
Metadata metadata_row(const Rows& rows, int row);
Artifact artifact_row(const Rows& rows, int row);

// A tag column's value: SQL NULL for JSON null, as the reference stores a missing list.
std::optional<std::string> json_value(const JsonText& json);

// Path keys (docs/api.md#ids): a number matches run_number / task_id, a name run_id / task_name.
Query& match_run(Query& query, const ObjectKey& run);
// The run's number: the path's, or that of the run it names, as a scalar subquery that
// PostgreSQL evaluates once, before the rest of the statement. So every table is read with
// equality on its own key columns, whatever the planner estimates of a join.
Query& run_number_of(Query& query, const std::string& flow_id, const ObjectKey& run);
// The task's id, likewise.
Query& task_id_of(Query& query, const TaskPath& path);
// "<alias>.flow_id = ... AND <alias>.run_number = ...": the rows of the run in a table below it.
Query& run_key(Query& query, std::string_view alias, const std::string& flow_id,
               const ObjectKey& run);
// As run_key, with step_name and task_id: the rows of the task.
Query& task_key(Query& query, std::string_view alias, const TaskPath& path);
// " FROM runs_v3 r<joins> WHERE <r is the path's run>".
Query& from_run(Query& query, std::string_view joins, const std::string& flow_id,
                const ObjectKey& run);

// A table of rows below a task, and its alias.
struct TaskRows {
    std::string_view table;
    std::string_view alias;
};
inline constexpr TaskRows kTaskArtifacts{"artifact_v3", "a"};
inline constexpr TaskRows kTaskMetadata{"metadata_v3", "m"};
// " FROM runs_v3 r, tasks_v3 t [, <rows>] WHERE ...": the run r, its task t of the path and,
// when given, the task's rows, each read by the path's key.
Query& from_task(Query& query, const TaskPath& path, std::optional<TaskRows> rows = std::nullopt);

// The condition, always true, of the partial indexes that keep a step's tasks and a run's
// artifacts and metadata in list order (see the migrations): stated by the list statements
// alone, so that no statement about one task reads a step's or a run's entries through them.
inline constexpr std::string_view kListedTask = " AND t.ts_epoch IS NOT NULL";
inline constexpr std::string_view kListedArtifact = " AND a.ts_epoch IS NOT NULL";
inline constexpr std::string_view kListedMetadata = " AND m.ts_epoch IS NOT NULL";

// One row more than the page, so that the caller can tell whether another page exists.
Query& limit(Query& query, const std::optional<Paging>& paging);

// The run list's query: filters, tag filters, derived status (now_s is the current time).
Result<Query> runs_query(const std::string& flow_id, const RunQuery& run_query, std::int64_t now_s);
Result<Query> tasks_query(const StepPath& path, const TaskQuery& task_query);

// The heartbeat update (docs/api.md#heartbeats): the check and the write are one statement, so that
// of two concurrent heartbeats only one can see the old value. They return the row updated:
// the run's number; the task's run number and id.
Query run_heartbeat(const std::string& flow_id, const ObjectKey& run, std::int64_t now_s);
Query task_heartbeat(const TaskPath& path, std::int64_t now_s);

}  // namespace mf::pg
