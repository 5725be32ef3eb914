#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/entities.hpp"
#include "model/ids.hpp"
#include "model/query.hpp"
#include "model/result.hpp"
#include "model/tags.hpp"
#include "store/row_change.hpp"

namespace mf {

class UiReader;

template <class T>
using Async = boost::asio::awaitable<Result<T>>;

// Where an artifact list looks: a whole run, one step, or one task.
struct ArtifactScope {
    std::string flow_id;
    ObjectKey run;
    std::optional<std::string> step_name;
    std::optional<ObjectKey> task;  // only with step_name
};

// The domain operations of the metadata service, one per thing a client can do. Both
// backends implement it; the API layer cannot tell them apart. Every method may be called
// concurrently from any server thread, and resumes the caller on its own executor.
//
// Errors: not_found for a missing object of a single read; missing_parent when a create
// names a parent that does not exist; already_exists on a duplicate; unavailable when
// the database cannot be reached; internal otherwise.
//
// Lists without paging (the legacy mode) return every row, in the same order as the
// paginated mode unless a method says otherwise. Lists with `paging` set return up to paging.limit
// + 1 rows in the paginated order (docs/api.md#pagination), strictly after the cursor; the API
// layer uses the extra row to decide whether a next page exists.

// A store's connection pool, for /metrics.
struct PoolGauges {
    std::size_t open = 0;     // connections open, idle or lent
    std::size_t idle = 0;     // open connections no request holds
    std::size_t waiting = 0;  // requests waiting for a connection
};

// Failed database calls since the store opened, for /metrics: the database unreachable (or
// not ready), a statement past its timeout, and the rest but the failures a client causes
// or retries (a duplicate, a missing parent, a conflict with a concurrent update).
struct DatabaseErrorCounts {
    std::uint64_t unavailable = 0;
    std::uint64_t timeout = 0;
    std::uint64_t other = 0;
    // Not failed calls: transactions the database rolled back to break a deadlock or a
    // serialization conflict, each of which the store ran again.
    std::uint64_t deadlocks_retried = 0;
    std::uint64_t serialization_failures_retried = 0;
};

class Store {
public:
    virtual ~Store() = default;

    // Null for a store without a connection pool.
    virtual std::optional<PoolGauges> pool_gauges() { return std::nullopt; }
    // Null for a store that does not count them.
    virtual std::optional<DatabaseErrorCounts> database_errors() const { return std::nullopt; }

    // A database round trip, for /healthcheck and readiness.
    virtual Async<Ok> check_health() = 0;
    // Called once the server's event loops run: a store with connection pools opens their
    // first connections on each loop, so that the first requests do not wait for them.
    virtual void warm_up(const std::vector<boost::asio::any_io_executor>& /*loops*/) {}

    // The web UI's reads (store/ui_reader.hpp), on the same connections as the rest.
    virtual UiReader& ui_reader() = 0;
    // From now until the store closes, tells `sink` about every row committed: on SQLite
    // this process's own commits (it alone writes the file), on PostgreSQL its own commits
    // too and every other writer's, through the notify triggers (PostgreSQL also reports
    // heartbeats and tag changes, as updates; SQLite reports neither). Called once, once the server
    // runs; returns once changes are watched, so that every write acknowledged after it is seen (on
    // PostgreSQL, after at most a few seconds when the database cannot be reached: the store keeps
    // trying, and what is written meanwhile is not seen).
    virtual void watch_changes(ChangeSink sink) = 0;

    virtual Async<Flow> create_flow(NewFlow flow) = 0;
    virtual Async<Flow> get_flow(std::string flow_id) = 0;
    virtual Async<std::vector<Flow>> list_flows(std::optional<Paging> paging) = 0;

    // Allocates the next global run number.
    virtual Async<Run> create_run(NewRun run) = 0;
    virtual Async<Run> get_run(RunPath path) = 0;
    virtual Async<std::vector<Run>> list_runs(std::string flow_id, RunQuery query) = 0;
    // True when the row was updated: the run exists and its heartbeat is NULL or at least
    // kHeartbeatIntervalSeconds older than now_s. Check and write are one atomic step.
    virtual Async<bool> heartbeat_run(RunPath path, std::int64_t now_s) = 0;
    // Atomic against concurrent mutations of the same run; retry_conflict if one won.
    virtual Async<MutatedTags> mutate_run_tags(RunPath path, TagMutation mutation) = 0;

    // missing_parent when the run does not exist.
    virtual Async<Step> create_step(StepPath path, NewStep step) = 0;
    virtual Async<Step> get_step(StepPath path) = 0;
    // Ordered by step_name ascending (byte order).
    virtual Async<std::vector<Step>> list_steps(RunPath path) = 0;

    // Allocates the next global task id. missing_parent when the run or step does not
    // exist. When task.heartbeat_ts is set, the run's heartbeat is refreshed as by
    // heartbeat_run (its outcome ignored).
    virtual Async<Task> create_task(StepPath path, NewTask task) = 0;
    virtual Async<Task> get_task(TaskPath path) = 0;
    virtual Async<std::vector<Task>> list_tasks(StepPath path, TaskQuery query) = 0;
    // Distinct tasks of the step having a metadata row that matches, by task id ascending.
    virtual Async<std::vector<Task>> find_tasks_by_metadata(StepPath path,
                                                            TaskPatternQuery query) = 0;
    // Refreshes the run's heartbeat (outcome ignored), then the task's; returns the task's.
    virtual Async<bool> heartbeat_task(TaskPath path, std::int64_t now_s) = 0;

    // register_first when the run or task does not exist. All items or none are written.
    // Returns how many records were created.
    virtual Async<std::int64_t> add_metadata(TaskPath path, std::vector<NewMetadata> records,
                                             std::int64_t ts_epoch) = 0;
    // Newest first: ts_epoch DESC, id DESC.
    virtual Async<std::vector<Metadata>> list_task_metadata(TaskPath path,
                                                            std::optional<Paging> paging) = 0;
    virtual Async<std::vector<Metadata>> list_run_metadata(RunPath path,
                                                           std::optional<Paging> paging) = 0;

    // register_first when the run or task does not exist. An item whose
    // (task, attempt_id, name) exists already is skipped and not counted.
    virtual Async<std::int64_t> add_artifacts(TaskPath path, std::vector<NewArtifact> artifacts,
                                              std::int64_t ts_epoch) = 0;
    // With no attempt: the attempt of the task's highest-attempt artifact named "name"
    // (0 if none), as the reference does (docs/api.md#artifacts).
    virtual Async<Artifact> get_artifact(TaskPath path, std::string name,
                                         std::optional<std::int32_t> attempt) = 0;
    // Legacy (no paging, or paging.legacy_rows): per task, only rows of that task's highest
    // attempt_id. Paged: the newest row per (task, name). Both ordered ts_epoch DESC,
    // task_id DESC, name DESC.
    virtual Async<std::vector<Artifact>> list_artifacts(ArtifactScope scope,
                                                        std::optional<Paging> paging) = 0;
    virtual Async<std::vector<Artifact>> list_attempt_artifacts(TaskPath path,
                                                                std::int32_t attempt) = 0;
};

}  // namespace mf
