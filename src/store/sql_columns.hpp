#pragma once

#include <string_view>

// The select lists both SQL stores read with, on the reference's table and column names
// each matched by a row reader of the store. Queries name their tables with fixed
// aliases: f flows, r runs, s steps, t tasks, m metadata, a artifacts. Steps, tasks and
// artifacts take tags from their run (r), never their own (docs/api.md#objects).
namespace mf::sql {

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

}  // namespace mf::sql
