#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "datastore/byte_lru.hpp"
#include "datastore/datastore.hpp"
#include "datastore/worker_pool.hpp"

namespace mf::datastore {

// How much each cache may hold, in bytes (CACHE_DAG_STORAGE_LIMIT,
// CACHE_LOG_STORAGE_LIMIT, CACHE_ARTIFACT_STORAGE_LIMIT), the threads that do the blocking
// reads, and the largest artifact whose value is shown (MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB).
struct CacheLimits {
    std::size_t run_bytes = std::size_t{64} << 20;
    std::size_t log_bytes = std::size_t{256} << 20;
    std::size_t artifact_bytes = std::size_t{64} << 20;
    std::size_t threads = 4;
    std::size_t max_processable_bytes = 4 * 1024;
};

// From the variables above; a variable that is unset or not a number keeps its default.
CacheLimits cache_limits_from_environment(const EnvLookup& env);

// One task attempt to refine or one artifact to show.
struct AttemptPath {
    TaskPath task;
    int attempt = 0;
};
struct ArtifactPath {
    TaskPath task;
    int attempt = 0;
    std::string name;
};

using LogLines = std::vector<LogLine>;

// The datastore's reads for the UI, each run on the worker pool (never on the caller's event
// loop) and cached in memory where a value cannot change once written: a run's DAG and
// parameters (per run), artifact values and task refinements (per task attempt), and a log
// (per attempt and stream, kept while the log's size is unchanged, so a growing log is read
// again). `fresh` drops the cached value first (the UI's `invalidate=true`).
class CachedReader {
public:
    CachedReader(std::shared_ptr<Datastore> datastore, CacheLimits limits);

    const CacheLimits& limits() const { return limits_; }
    std::string root_url() const { return datastore_->objects().root_url(); }

    boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> dag(
        TaskPath parameters_task, bool fresh);
    boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> parameters(
        TaskPath parameters_task, bool fresh);
    boost::asio::awaitable<Result<std::shared_ptr<const LogLines>>> log(TaskPath task, int attempt,
                                                                        LogStream stream);
    // One result per artifact, in order.
    boost::asio::awaitable<std::vector<Result<std::string>>> artifact_contents(
        std::vector<ArtifactPath> artifacts);
    // One result per attempt, in order; not_found for an attempt without `_task_ok`.
    boost::asio::awaitable<std::vector<Result<TaskRefinement>>> refine_tasks(
        std::vector<AttemptPath> attempts);

    // Cards are read fresh each time: a running task rewrites them.
    boost::asio::awaitable<Result<std::vector<CardInfo>>> cards(TaskPath task);
    boost::asio::awaitable<Result<std::string>> card_html(TaskPath task, std::string hash);
    boost::asio::awaitable<Result<boost::json::value>> card_data(TaskPath task, std::string hash);

private:
    struct SizedLog {
        std::uint64_t size = 0;
        std::shared_ptr<const LogLines> lines;
    };

    // A run's value by `key`, read by `read` on the pool unless cached (or `fresh`).
    boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> run_value(
        std::string key, bool fresh, std::function<Result<boost::json::value>()> read);

    std::shared_ptr<Datastore> datastore_;
    CacheLimits limits_;
    WorkerPool pool_;
    ByteLru<boost::json::value> runs_;
    ByteLru<SizedLog> logs_;
    ByteLru<Result<std::string>> contents_;
    ByteLru<TaskRefinement> refinements_;
};

}  // namespace mf::datastore
