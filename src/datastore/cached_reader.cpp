#include "datastore/cached_reader.hpp"

#include <optional>

#include <boost/json/serialize.hpp>

namespace mf::datastore {
namespace {

std::string attempt_key(const TaskPath& task, int attempt) {
    return task.pathspec() + "/" + std::to_string(attempt);
}

// What a log costs in memory: its text and the bookkeeping of each line.
std::size_t weight(const LogLines& lines) {
    std::size_t bytes = 0;
    for (const auto& line : lines) bytes += line.line.size() + sizeof(LogLine);
    return bytes;
}

// Values and decoding failures stay as they are; a store that failed may answer next time.
bool lasting(const Error& error) {
    return error.kind == ErrorKind::unprocessable || error.kind == ErrorKind::invalid;
}

}  // namespace

CacheLimits cache_limits_from_environment(const EnvLookup& env) {
    CacheLimits limits;
    limits.run_bytes = number_or(env, "CACHE_DAG_STORAGE_LIMIT", limits.run_bytes);
    limits.log_bytes = number_or(env, "CACHE_LOG_STORAGE_LIMIT", limits.log_bytes);
    limits.artifact_bytes = number_or(env, "CACHE_ARTIFACT_STORAGE_LIMIT", limits.artifact_bytes);
    limits.max_processable_bytes =
        number_or(env, "MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB", limits.max_processable_bytes / 1024) *
        1024;
    return limits;
}

CachedReader::CachedReader(std::shared_ptr<Datastore> datastore, CacheLimits limits)
    : datastore_(std::move(datastore)),
      limits_(limits),
      pool_(limits.threads),
      runs_(limits.run_bytes),
      logs_(limits.log_bytes),
      contents_(limits.artifact_bytes / 2),
      refinements_(limits.artifact_bytes / 2) {}

boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> CachedReader::run_value(
    std::string key, bool fresh, std::function<Result<boost::json::value>()> read) {
    using Value = Result<std::shared_ptr<const boost::json::value>>;
    if (fresh) runs_.erase(key);
    if (auto hit = runs_.get(key)) co_return Value(hit);
    co_return co_await pool_.run([&]() -> Value {
        auto found = read();
        if (!found) return found.take_error();
        auto value = std::make_shared<const boost::json::value>(std::move(*found));
        runs_.put(key, value, boost::json::serialize(*value).size());
        return value;
    });
}

boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> CachedReader::dag(
    TaskPath parameters_task, bool fresh) {
    co_return co_await run_value("dag:" + parameters_task.pathspec(), fresh,
                                 [&] { return datastore_->dag(parameters_task); });
}

boost::asio::awaitable<Result<std::shared_ptr<const boost::json::value>>> CachedReader::parameters(
    TaskPath parameters_task, bool fresh) {
    co_return co_await run_value("parameters:" + parameters_task.pathspec(), fresh,
                                 [&]() -> Result<boost::json::value> {
                                     auto parameters = datastore_->parameters(parameters_task);
                                     if (!parameters) return parameters.take_error();
                                     return boost::json::value(std::move(*parameters));
                                 });
}

boost::asio::awaitable<Result<std::shared_ptr<const LogLines>>> CachedReader::log(
    TaskPath task, int attempt, LogStream stream) {
    using Value = Result<std::shared_ptr<const LogLines>>;
    co_return co_await pool_.run([&]() -> Value {
        const std::string key =
            attempt_key(task, attempt) + (stream == LogStream::out ? "/out" : "/err");
        auto size = datastore_->log_size(task, attempt, stream);
        if (!size) return size.take_error();
        if (auto hit = logs_.get(key); hit && hit->size == *size) return hit->lines;
        auto lines = datastore_->log(task, attempt, stream);
        if (!lines) return lines.take_error();
        auto shared = std::make_shared<const LogLines>(std::move(*lines));
        logs_.put(key, std::make_shared<const SizedLog>(SizedLog{*size, shared}), weight(*shared));
        return shared;
    });
}

boost::asio::awaitable<std::vector<Result<std::string>>> CachedReader::artifact_contents(
    std::vector<ArtifactPath> artifacts) {
    co_return co_await pool_.run([&] {
        std::vector<Result<std::string>> results;
        results.reserve(artifacts.size());
        std::optional<Error> unreachable;
        for (const auto& artifact : artifacts) {
            const std::string key =
                attempt_key(artifact.task, artifact.attempt) + "/" + artifact.name;
            if (auto hit = contents_.get(key)) {
                results.push_back(*hit);
                continue;
            }
            if (unreachable) {
                results.emplace_back(*unreachable);
                continue;
            }
            auto content = datastore_->artifact_content(
                artifact.task, artifact.attempt, artifact.name, limits_.max_processable_bytes);
            if (content || lasting(content.error())) {
                const std::size_t bytes =
                    key.size() + (content ? content->size() : content.error().message.size());
                contents_.put(key, std::make_shared<const Result<std::string>>(content), bytes);
            }
            if (!content && out_of_reach(content.error())) unreachable = content.error();
            results.push_back(std::move(content));
        }
        return results;
    });
}

boost::asio::awaitable<std::vector<Result<TaskRefinement>>> CachedReader::refine_tasks(
    std::vector<AttemptPath> attempts) {
    co_return co_await pool_.run([&] {
        std::vector<Result<TaskRefinement>> results;
        results.reserve(attempts.size());
        std::optional<Error> unreachable;
        for (const auto& attempt : attempts) {
            const std::string key = attempt_key(attempt.task, attempt.attempt);
            if (auto hit = refinements_.get(key)) {
                results.push_back(*hit);
                continue;
            }
            if (unreachable) {
                results.emplace_back(*unreachable);
                continue;
            }
            auto refinement = datastore_->refine_task(attempt.task, attempt.attempt,
                                                      limits_.max_processable_bytes);
            // A task without `_task_ok` yet may still finish: only what it wrote is kept.
            if (refinement) {
                refinements_.put(key, std::make_shared<const TaskRefinement>(*refinement),
                                 key.size() + sizeof(TaskRefinement));
            }
            if (!refinement && out_of_reach(refinement.error())) unreachable = refinement.error();
            results.push_back(std::move(refinement));
        }
        return results;
    });
}

boost::asio::awaitable<Result<std::vector<CardInfo>>> CachedReader::cards(TaskPath task) {
    co_return co_await pool_.run([&] { return datastore_->cards(task); });
}

boost::asio::awaitable<Result<std::string>> CachedReader::card_html(TaskPath task,
                                                                    std::string hash) {
    co_return co_await pool_.run([&] { return datastore_->card_html(task, hash); });
}

boost::asio::awaitable<Result<boost::json::value>> CachedReader::card_data(TaskPath task,
                                                                           std::string hash) {
    co_return co_await pool_.run([&] { return datastore_->card_data(task, hash); });
}

}  // namespace mf::datastore
