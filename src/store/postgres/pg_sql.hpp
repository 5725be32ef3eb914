#pragma once

#include <cstdint>
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
// " FROM runs_v3 r<joins> WHERE <r is the path's run>".
Query& from_run(Query& query, std::string_view joins, const std::string& flow_id,
                const ObjectKey& run);
// As from_run, joined with the task t of the path.
Query& from_task(Query& query, std::string_view more_joins, const TaskPath& path);

// One row more than the page, so that the caller can tell whether another page exists.
Query& limit(Query& query, const std::optional<Paging>& paging);

// The run list's query: filters, tag filters, derived status (now_s is the current time).
Result<Query> runs_query(const std::string& flow_id, const RunQuery& run_query, std::int64_t now_s);
Result<Query> tasks_query(const StepPath& path, const TaskQuery& task_query);

// The heartbeat update (docs/api.md#heartbeats): the check and the write are one statement, so that
// of two concurrent heartbeats only one can see the old value.
Query run_heartbeat(const std::string& flow_id, const ObjectKey& run, std::int64_t now_s);
Query task_heartbeat(const TaskPath& path, std::int64_t now_s);

}  // namespace mf::pg
