#pragma once

#include <string>
#include <string_view>

#include "model/entities.hpp"
#include "model/ids.hpp"
#include "store/sqlite/sqlite_connection.hpp"

namespace mf::sqlite {

// Select lists, each matched by a reader below. Queries name their tables with fixed
// aliases: f flows, r runs, s steps, t tasks, m metadata, a artifacts. Steps, tasks and
// artifacts take tags from their run (r), never their own (spec 4.8).
inline constexpr std::string_view kFlowColumns =
    "f.flow_id, f.user_name, f.ts_epoch, f.tags, f.system_tags";
inline constexpr std::string_view kRunColumns =
    "r.flow_id, r.run_number, r.run_id, r.user_name, r.ts_epoch, r.tags, r.system_tags, "
    "r.last_heartbeat_ts";
inline constexpr std::string_view kStepColumns =
    "s.flow_id, s.run_number, s.run_id, s.step_name, s.user_name, s.ts_epoch, r.tags, "
    "r.system_tags";
inline constexpr std::string_view kTaskColumns =
    "t.flow_id, t.run_number, t.run_id, t.step_name, t.task_id, t.task_name, t.user_name, "
    "t.ts_epoch, r.tags, r.system_tags, t.last_heartbeat_ts";
inline constexpr std::string_view kMetadataColumns =
    "m.id, m.flow_id, m.run_number, m.run_id, m.step_name, m.task_id, m.task_name, "
    "m.field_name, m.value, m.type, m.user_name, m.ts_epoch, m.tags, m.system_tags";
inline constexpr std::string_view kArtifactColumns =
    "a.flow_id, a.run_number, a.run_id, a.step_name, a.task_id, a.task_name, a.name, "
    "a.location, a.ds_type, a.sha, a.type, a.content_type, a.user_name, a.attempt_id, "
    "a.ts_epoch, r.tags, r.system_tags";

// Tasks of the run r, for queries that start from a run.
inline constexpr std::string_view kJoinTasks =
    " JOIN tasks_v3 t ON t.flow_id = r.flow_id AND t.run_number = r.run_number";

// The readers take the row the statement is on, its columns starting at index 0.
Flow flow_row(const Statement& row);
Run run_row(const Statement& row);
Step step_row(const Statement& row);
Task task_row(const Statement& row);
Metadata metadata_row(const Statement& row);
Artifact artifact_row(const Statement& row);

// Path keys (spec 3.3): a number matches run_number / task_id, a name run_id / task_name.
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
