#pragma once

// Shared by the fault tests: a write load whose every acknowledged write is recorded, for
// checking a database against that record afterwards.

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "support/test_server.hpp"

namespace mf::testing::reliability {

// Whether this is the suite's PostgreSQL pass. The fault tests run their own database, so
// each runs in one pass only: the SQLite ones in the SQLite pass, the PostgreSQL ones here.
inline bool postgres_pass() {
    const char* backend = std::getenv("MF_TEST_BACKEND");
    return backend && std::string(backend) == "postgres";
}

// Every write that got a 2xx, by the key that finds it in the database.
struct Acknowledged {
    std::mutex mutex;
    std::set<std::int64_t> runs;
    std::set<std::pair<std::int64_t, std::string>> steps;
    std::set<std::int64_t> tasks;
    std::set<std::pair<std::int64_t, std::string>> metadata;   // task id, field name
    std::set<std::pair<std::int64_t, std::string>> artifacts;  // task id, artifact name

    std::size_t total() {
        std::lock_guard lock(mutex);
        return runs.size() + steps.size() + tasks.size() + metadata.size() + artifacts.size();
    }
};

inline std::int64_t number_of(const boost::json::value& value) {
    if (value.is_string()) return std::stoll(std::string(value.as_string()));
    return value.to_number<std::int64_t>();
}

// One client's writes, in the order the Metaflow client makes them, until a request fails
// (the server is gone), `stop` is set, or a write is refused for want of space (then
// `refused` counts it and the loop goes on). Returns how many requests failed with 5xx.
struct Writes {
    std::uint16_t port;
    std::string flow;
    int client;
    Acknowledged& acked;
    std::atomic<bool>& stop;
    std::string payload = "x";  // artifact locations this long make each write bigger
    // Called with each reply that is not a 2xx (from this client's thread).
    std::function<void(const HttpResponse&)> on_refused = nullptr;

    void run(std::set<unsigned>* error_statuses = nullptr) {
        HttpClient http(port);
        auto ok = [&](const HttpResponse& r) {
            if (r.status >= 200 && r.status < 300) return true;
            if (error_statuses) error_statuses->insert(r.status);
            if (on_refused) on_refused(r);
            return false;
        };
        for (int round = 0; !stop && round < 100000; ++round) {
            auto run = http.post("/flows/" + flow + "/run",
                                 R"({"user_name": "kill", "tags": [], "system_tags": []})");
            if (!ok(run)) continue;
            auto run_number = number_of(run.json().at("run_number"));
            {
                std::lock_guard lock(acked.mutex);
                acked.runs.insert(run_number);
            }
            auto run_url = "/flows/" + flow + "/runs/" + std::to_string(run_number);
            std::string step = "s" + std::to_string(client);
            if (!ok(http.post(run_url + "/steps/" + step + "/step", R"({"user_name": "kill"})")))
                continue;
            {
                std::lock_guard lock(acked.mutex);
                acked.steps.emplace(run_number, step);
            }
            for (int t = 0; t < 3 && !stop; ++t) {
                auto task =
                    http.post(run_url + "/steps/" + step + "/task", R"({"user_name": "kill"})");
                if (!ok(task)) continue;
                auto task_id = number_of(task.json().at("task_id"));
                {
                    std::lock_guard lock(acked.mutex);
                    acked.tasks.insert(task_id);
                }
                auto task_url = run_url + "/steps/" + step + "/tasks/" + std::to_string(task_id);
                boost::json::array metadata;
                for (int m = 0; m < 2; ++m) {
                    metadata.push_back({{"field_name", "field" + std::to_string(m)},
                                        {"value", "v"},
                                        {"type", "t"},
                                        {"user_name", "kill"},
                                        {"tags", boost::json::array{"attempt_id:0"}}});
                }
                if (ok(http.post(task_url + "/metadata", boost::json::serialize(metadata)))) {
                    std::lock_guard lock(acked.mutex);
                    acked.metadata.emplace(task_id, "field0");
                    acked.metadata.emplace(task_id, "field1");
                }
                boost::json::array artifacts;
                artifacts.push_back({{"name", "a"},
                                     {"location", "s3://b/" + payload},
                                     {"ds_type", "s3"},
                                     {"sha", "0"},
                                     {"type", "metaflow.artifact"},
                                     {"content_type", "gzip+pickle-v4"},
                                     {"attempt_id", 0},
                                     {"user_name", "kill"}});
                if (ok(http.post(task_url + "/artifact", boost::json::serialize(artifacts)))) {
                    std::lock_guard lock(acked.mutex);
                    acked.artifacts.emplace(task_id, "a");
                }
            }
        }
    }
};

// The rows of a query on one flow's writes, each row's columns joined by '|'.
using FlowRows = std::function<std::set<std::string>(const std::string& select_from_table)>;

// How many of the acknowledged writes a database lacks, `rows` reading it.
inline std::size_t missing_writes(Acknowledged& acked, const FlowRows& rows) {
    auto runs = rows("SELECT run_number FROM runs_v3");
    auto steps = rows("SELECT run_number, step_name FROM steps_v3");
    auto tasks = rows("SELECT task_id FROM tasks_v3");
    auto metadata = rows("SELECT task_id, field_name FROM metadata_v3");
    auto artifacts = rows("SELECT task_id, name FROM artifact_v3");
    std::lock_guard lock(acked.mutex);
    std::size_t missing = 0;
    for (auto run : acked.runs) missing += !runs.count(std::to_string(run));
    for (const auto& [run, step] : acked.steps)
        missing += !steps.count(std::to_string(run) + "|" + step);
    for (auto task : acked.tasks) missing += !tasks.count(std::to_string(task));
    for (const auto& [task, field] : acked.metadata)
        missing += !metadata.count(std::to_string(task) + "|" + field);
    for (const auto& [task, name] : acked.artifacts)
        missing += !artifacts.count(std::to_string(task) + "|" + name);
    return missing;
}

}  // namespace mf::testing::reliability
