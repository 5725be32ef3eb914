#pragma once

#include <string>
#include <string_view>

#include "model/entities.hpp"
#include "model/ids.hpp"
#include "store/sql_columns.hpp"
#include "store/sqlite/sqlite_connection.hpp"

namespace mf::sqlite {

using sql::kArtifactColumns;
using sql::kFlowColumns;
using sql::kJoinTasks;
using sql::kMetadataColumns;
using sql::kRunColumns;
using sql::kStepColumns;
using sql::kTaskColumns;

// The readers take the row the statement is on, its columns starting at index 0.
Flow flow_row(const Statement& row);
Run run_row(const Statement& row);
Step step_row(const Statement& row);
Task task_row(const Statement& row);
Metadata metadata_row(const Statement& row);
Artifact artifact_row(const Statement& row);

// Path keys (docs/api.md#ids): a number matches run_number / task_id, a name run_id / task_name.
SqlQuery& match_run(SqlQuery& query, const ObjectKey& run);
SqlQuery& match_task(SqlQuery& query, const ObjectKey& task);

// " FROM runs_v3 r<joins> WHERE <r is the path's run>": the start of every query that reads
// below a run, so that string and numeric run keys resolve alike.
SqlQuery& from_run(SqlQuery& query, std::string_view joins, const std::string& flow_id,
                   const ObjectKey& run);
// As from_run, joined with the task t of the path.
SqlQuery& from_task(SqlQuery& query, std::string_view more_joins, const std::string& flow_id,
                    const ObjectKey& run, const std::string& step_name, const ObjectKey& task);

}  // namespace mf::sqlite
