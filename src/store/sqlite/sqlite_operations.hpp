#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/entities.hpp"
#include "model/ids.hpp"
#include "model/query.hpp"
#include "model/result.hpp"
#include "model/tags.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/store.hpp"
#include "store/ui_reader.hpp"

// The store's operations as plain functions of a connection, one SQL statement per read.
// Domain outcomes (not found, duplicates, missing parents) come back as errors in the
// Result; a failing SQLite call throws SqliteError for the caller to map.
namespace mf::sqlite {

// Reads, on a read connection.
Result<Flow> read_flow(Connection& db, const std::string& flow_id);
Result<std::vector<Flow>> read_flows(Connection& db, const std::optional<Paging>& paging);
Result<Run> read_run(Connection& db, const RunPath& path);
// now_s is the current time, for the derived status (docs/api.md#run-status).
Result<std::vector<Run>> read_runs(Connection& db, const std::string& flow_id,
                                   const RunQuery& query, std::int64_t now_s);
Result<Step> read_step(Connection& db, const StepPath& path);
Result<std::vector<Step>> read_steps(Connection& db, const RunPath& path);
Result<Task> read_task(Connection& db, const TaskPath& path);
Result<std::vector<Task>> read_tasks(Connection& db, const StepPath& path, const TaskQuery& query);
Result<std::vector<Task>> read_tasks_by_metadata(Connection& db, const StepPath& path,
                                                 const TaskPatternQuery& query);
Result<std::vector<Metadata>> read_task_metadata(Connection& db, const TaskPath& path,
                                                 const std::optional<Paging>& paging);
Result<std::vector<Metadata>> read_run_metadata(Connection& db, const RunPath& path,
                                                const std::optional<Paging>& paging);
Result<Artifact> read_artifact(Connection& db, const TaskPath& path, const std::string& name,
                               std::optional<std::int32_t> attempt);
Result<std::vector<Artifact>> read_artifacts(Connection& db, const ArtifactScope& scope,
                                             const std::optional<Paging>& paging);
Result<std::vector<Artifact>> read_attempt_artifacts(Connection& db, const TaskPath& path,
                                                     std::int32_t attempt);

// The web UI's reads (store/ui_reader.hpp).
Result<std::vector<UiRow>> read_ui_list(Connection& db, const UiListQuery& query);
Result<std::vector<std::string>> read_ui_run_tags(Connection& db);

// Writes, on the writer connection inside its transaction.
Result<Ok> ping(Connection& db);
Result<Flow> insert_flow(Connection& db, const NewFlow& flow);
Result<Run> insert_run(Connection& db, const NewRun& run);
Result<Step> insert_step(Connection& db, const StepPath& path, const NewStep& step);
Result<Task> insert_task(Connection& db, const StepPath& path, const NewTask& task);
Result<bool> update_run_heartbeat(Connection& db, const RunPath& path, std::int64_t now_s);
Result<bool> update_task_heartbeat(Connection& db, const TaskPath& path, std::int64_t now_s);
Result<MutatedTags> update_run_tags(Connection& db, const RunPath& path,
                                    const TagMutation& mutation);
Result<std::int64_t> insert_metadata(Connection& db, const TaskPath& path,
                                     const std::vector<NewMetadata>& records,
                                     std::int64_t ts_epoch);
Result<std::int64_t> insert_artifacts(Connection& db, const TaskPath& path,
                                      const std::vector<NewArtifact>& artifacts,
                                      std::int64_t ts_epoch);

}  // namespace mf::sqlite
