// Many writers at once: 64 clients, each on its own kept-alive connection,
// write whole runs (run, step, tasks, metadata, artifacts, tag mutations) into one flow
// through 4 server processes on one PostgreSQL database, or through one server on SQLite.
// Afterwards: no run number or task id was handed out twice, every acknowledged object is
// there, nothing answered 5xx, the load ended within a bound (no deadlock), and the tag
// mutations of the runs they all fight over are serialisable: the stored tags and every
// reply are what one serial order of the acknowledged mutations gives.
//
// How the serial order is found: every mutation of a contested run adds a witness tag of its
// own, which nothing removes. In a serial history the reply to the k-th mutation holds
// exactly k witnesses, so sorting the replies by their witness count gives the order, and
// replaying the mutations in that order must reproduce each reply and the final tags. A lost
// update (two mutations built on the same read) leaves two replies with the same count and a
// witness missing from the stored tags; a mutation refused with 409 must leave no witness.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reliability/sqlite_support.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing::reliability {
namespace {

namespace json = boost::json;
using Tags = std::set<std::string>;

constexpr int kClients = 64;
constexpr int kRunsPerClient = 2;
constexpr int kTasksPerRun = 2;
constexpr int kContestedRuns = 4;  // each fought over by kClients / kContestedRuns clients
constexpr int kHotTags = 3;        // added and removed by many clients at once
constexpr int kMaxConflictRetries = 100;
const std::string kFlow = "ConcurrentFlow";
const std::string kWitnessPrefix = "witness:";
// Far beyond what the load needs (seconds, under the sanitizers too): reaching it means
// requests stopped being answered.
constexpr auto kLoadBudget = std::chrono::seconds(120);

Tags tags_of(const json::value& list) {
    Tags tags;
    for (const auto& tag : list.as_array()) tags.insert(std::string(tag.as_string()));
    return tags;
}

std::string hot_tag(int index) {
    return "hot" + std::to_string(index % kHotTags);
}

struct Mutation {
    std::vector<std::string> add;
    std::vector<std::string> remove;
    Tags reply;  // the run's tags after it, as acknowledged

    std::string body() const {
        json::object object{{"tags_to_add", json::value_from(add)},
                            {"tags_to_remove", json::value_from(remove)}};
        return json::serialize(object);
    }
};

// What every client had acknowledged, and everything that went wrong.
struct Record {
    std::mutex mutex;
    std::vector<std::int64_t> runs;  // a run number twice here is a duplicate
    std::vector<std::int64_t> tasks;
    std::int64_t steps = 0;
    std::int64_t metadata = 0;
    std::int64_t artifacts = 0;
    std::map<std::int64_t, std::vector<std::int64_t>> tasks_of_run;
    std::vector<std::vector<Mutation>> contested =
        std::vector<std::vector<Mutation>>(kContestedRuns);
    std::vector<std::string> failures;
    std::atomic<int> server_errors{0};
    std::atomic<int> conflicts{0};
};

class Client {
public:
    Client(std::uint16_t port, int id, const std::vector<std::int64_t>& contested_runs,
           Record& record)
        : http_(port),
          id_(id),
          contested_runs_(contested_runs),
          record_(record),
          random_(static_cast<unsigned>(id)) {}

    void run() {
        for (int i = 0; i < kRunsPerClient; ++i) write_run(i);
    }

private:
    // One run as the Metaflow client writes it, then tag mutations of its own run and of the
    // contested run of this client's group.
    void write_run(int round) {
        auto run = post("/flows/" + kFlow + "/run",
                        R"({"user_name": "u", "tags": ["own"], "system_tags": []})");
        if (!run) return;
        const auto run_number = number_of(run->at("run_number"));
        const auto run_url = "/flows/" + kFlow + "/runs/" + std::to_string(run_number);
        {
            std::lock_guard lock(record_.mutex);
            record_.runs.push_back(run_number);
            record_.tasks_of_run[run_number];
        }
        if (!post(run_url + "/steps/start/step", R"({"user_name": "u"})")) return;
        {
            std::lock_guard lock(record_.mutex);
            ++record_.steps;
        }
        for (int t = 0; t < kTasksPerRun; ++t) write_task(run_url, run_number);

        // Both adds and removes of the same hot tags, by many clients at once.
        const int contested = id_ / (kClients / kContestedRuns);
        const auto contested_url =
            "/flows/" + kFlow + "/runs/" + std::to_string(contested_runs_[contested]);
        mutate(contested_url, contested, {witness(round, 0), hot_tag(id_ + round)}, {});
        mutate(run_url, -1, {"gone"}, {});
        mutate(contested_url, contested, {witness(round, 1)}, {hot_tag(id_ + round + 1)});
        mutate(run_url, -1, {}, {"gone", "own"});
        mutate(run_url, -1, {"kept"}, {});
    }

    void write_task(const std::string& run_url, std::int64_t run_number) {
        auto task = post(run_url + "/steps/start/task", R"({"user_name": "u"})");
        if (!task) return;
        const auto task_id = number_of(task->at("task_id"));
        {
            std::lock_guard lock(record_.mutex);
            record_.tasks.push_back(task_id);
            record_.tasks_of_run[run_number].push_back(task_id);
        }
        const auto task_url = run_url + "/steps/start/tasks/" + std::to_string(task_id);
        json::array metadata;
        for (int m = 0; m < 2; ++m) {
            metadata.push_back({{"field_name", "field" + std::to_string(m)},
                                {"value", "v"},
                                {"type", "t"},
                                {"user_name", "u"},
                                {"tags", json::array{"attempt_id:0"}}});
        }
        if (post(task_url + "/metadata", json::serialize(metadata))) {
            std::lock_guard lock(record_.mutex);
            record_.metadata += 2;
        }
        json::array artifacts;
        artifacts.push_back({{"name", "a"},
                             {"location", "s3://bucket/a"},
                             {"ds_type", "s3"},
                             {"sha", "0"},
                             {"type", "metaflow.artifact"},
                             {"content_type", "gzip+pickle-v4"},
                             {"attempt_id", 0},
                             {"user_name", "u"}});
        if (post(task_url + "/artifact", json::serialize(artifacts))) {
            std::lock_guard lock(record_.mutex);
            ++record_.artifacts;
        }
    }

    // PATCH .../tag/mutate, retrying 409 with a random backoff as the Metaflow client does
    // (with more attempts: 16 clients fight over each contested run here). A contested
    // mutation is recorded with its reply for the serialisability check.
    void mutate(const std::string& run_url, int contested, std::vector<std::string> add,
                std::vector<std::string> remove) {
        Mutation mutation{std::move(add), std::move(remove), {}};
        const auto body = mutation.body();
        for (int attempt = 1; attempt <= kMaxConflictRetries; ++attempt) {
            auto reply = http_.patch(run_url + "/tag/mutate", body);
            if (reply.status == 409) {
                ++record_.conflicts;
                std::uniform_int_distribution<int> backoff_ms(0, std::min(2 * attempt, 50));
                std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms(random_)));
                continue;
            }
            if (!acknowledged(reply, "PATCH " + run_url + "/tag/mutate")) return;
            mutation.reply = tags_of(reply.json().at("tags"));
            if (contested >= 0) {
                std::lock_guard lock(record_.mutex);
                record_.contested[contested].push_back(std::move(mutation));
            }
            return;
        }
        fail("PATCH " + run_url + "/tag/mutate still in conflict after " +
             std::to_string(kMaxConflictRetries) + " attempts");
    }

    std::string witness(int round, int step) const {
        return kWitnessPrefix + std::to_string(id_) + "." + std::to_string(round) + "." +
               std::to_string(step);
    }

    std::optional<json::value> post(const std::string& target, const std::string& body) {
        auto reply = http_.post(target, body);
        if (!acknowledged(reply, "POST " + target)) return std::nullopt;
        return reply.json();
    }

    bool acknowledged(const HttpResponse& reply, const std::string& request) {
        if (reply.status >= 200 && reply.status < 300) return true;
        if (reply.status >= 500) ++record_.server_errors;
        fail(request + ": " + std::to_string(reply.status) + " " + reply.body);
        return false;
    }

    void fail(const std::string& what) {
        std::lock_guard lock(record_.mutex);
        record_.failures.push_back("client " + std::to_string(id_) + ": " + what);
    }

    HttpClient http_;
    int id_;
    const std::vector<std::int64_t>& contested_runs_;
    Record& record_;
    std::mt19937 random_;
};

std::size_t witnesses_in(const Tags& tags) {
    return static_cast<std::size_t>(std::count_if(
        tags.begin(), tags.end(), [](const auto& tag) { return tag.starts_with(kWitnessPrefix); }));
}

std::string describe(const Tags& tags) {
    std::string text = "{";
    for (const auto& tag : tags) text += (text.size() > 1 ? ", " : "") + tag;
    return text + "}";
}

// The acknowledged mutations of one run, replayed in the order their witnesses give, lead
// from `initial` through each reply to `stored`.
void expect_serialisable(const Tags& initial, std::vector<Mutation> mutations, const Tags& stored) {
    std::stable_sort(mutations.begin(), mutations.end(), [](const auto& a, const auto& b) {
        return witnesses_in(a.reply) < witnesses_in(b.reply);
    });
    Tags state = initial;
    for (std::size_t k = 0; k < mutations.size(); ++k) {
        for (const auto& tag : mutations[k].remove) state.erase(tag);
        state.insert(mutations[k].add.begin(), mutations[k].add.end());
        ASSERT_EQ(describe(mutations[k].reply), describe(state))
            << "the reply to mutation " << k + 1 << " of " << mutations.size()
            << " is not what the serial order gives";
    }
    EXPECT_EQ(describe(stored), describe(state));
}

std::set<std::int64_t> numbers_in(const json::value& list, const char* field) {
    std::set<std::int64_t> numbers;
    for (const auto& row : list.as_array()) numbers.insert(number_of(row.at(field)));
    return numbers;
}

// Starts `servers` processes of the real binary on one database, all at once (so that on
// PostgreSQL their migrations of the empty database race too), runs the load through them
// and checks what it left.
void run_load(int servers, const std::vector<std::string>& environment) {
    TempDir dir;
    TestDatabase database(dir.path());
    std::vector<std::uint16_t> ports;
    std::vector<std::unique_ptr<ServiceProcess>> processes;
    for (int i = 0; i < servers; ++i) {
        ports.push_back(free_port());
        processes.push_back(std::make_unique<ServiceProcess>(
            std::vector<std::string>{"serve", "--host", "127.0.0.1", "--port",
                                     std::to_string(ports.back()), "--threads", "2",
                                     "--migration-port", "0", "--log-level", "warning",
                                     "--database", database.url()},
            (dir.path() / ("server" + std::to_string(i) + ".log")).string(), environment));
    }
    for (int i = 0; i < servers; ++i) {
        ASSERT_TRUE(processes[i]->wait_until_serving(ports[i], std::chrono::seconds(60)))
            << processes[i]->log();
    }

    HttpClient setup(ports[0]);
    ASSERT_EQ(setup.post("/flows/" + kFlow, R"({"user_name": "u"})").status, 200u);
    std::vector<std::int64_t> contested_runs;
    std::vector<Tags> initial_tags;
    for (int r = 0; r < kContestedRuns; ++r) {
        auto run = setup.post("/flows/" + kFlow + "/run",
                              R"({"user_name": "u", "tags": ["hot0"], "system_tags": []})");
        ASSERT_EQ(run.status, 200u) << run.body;
        contested_runs.push_back(number_of(run.json().at("run_number")));
        initial_tags.push_back(tags_of(run.json().at("tags")));
    }

    Record record;
    std::latch start(kClients + 1);
    std::atomic<int> finished{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            try {
                Client client(ports[c % servers], c, contested_runs, record);
                start.arrive_and_wait();
                client.run();
            } catch (const std::exception& error) {
                std::lock_guard lock(record.mutex);
                record.failures.push_back("client " + std::to_string(c) + ": " + error.what());
            }
            ++finished;
        });
    }
    start.arrive_and_wait();
    const auto deadline = std::chrono::steady_clock::now() + kLoadBudget;
    while (finished < kClients && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const bool stuck = finished < kClients;
    if (stuck) processes.clear();  // SIGKILL: the stuck clients' requests fail and they end
    for (auto& client : clients) client.join();
    ASSERT_FALSE(stuck) << kClients - finished << " clients still waiting after "
                        << kLoadBudget.count() << " s: deadlock";

    EXPECT_EQ(record.server_errors.load(), 0);
    EXPECT_TRUE(record.failures.empty())
        << record.failures.size() << " failed requests, first: " << record.failures.front();
    std::cout << "[ load     ] " << kClients << " clients on " << servers
              << " server(s): " << record.conflicts.load()
              << " tag mutations answered 409 and retried" << std::endl;

    // No run number and no task id was handed out twice.
    const std::set<std::int64_t> runs(record.runs.begin(), record.runs.end());
    const std::set<std::int64_t> tasks(record.tasks.begin(), record.tasks.end());
    EXPECT_EQ(runs.size(), record.runs.size()) << "duplicate run numbers";
    EXPECT_EQ(tasks.size(), record.tasks.size()) << "duplicate task ids";
    EXPECT_EQ(record.runs.size(), std::size_t{kClients * kRunsPerClient});
    EXPECT_EQ(record.tasks.size(), std::size_t{kClients * kRunsPerClient * kTasksPerRun});

    // Every acknowledged object is stored, once: in the database and through the API.
    auto counts = database.row_counts();
    EXPECT_EQ(counts["runs_v3"], std::int64_t(record.runs.size()) + kContestedRuns);
    EXPECT_EQ(counts["steps_v3"], record.steps);
    EXPECT_EQ(counts["tasks_v3"], std::int64_t(record.tasks.size()));
    EXPECT_EQ(counts["metadata_v3"], record.metadata);
    EXPECT_EQ(counts["artifact_v3"], record.artifacts);

    HttpClient reader(ports.back());
    std::set<std::int64_t> expected_runs = runs;
    expected_runs.insert(contested_runs.begin(), contested_runs.end());
    EXPECT_EQ(numbers_in(reader.get("/flows/" + kFlow + "/runs").json(), "run_number"),
              expected_runs);
    for (const auto& [run_number, run_tasks] : record.tasks_of_run) {
        const auto run_url = "/flows/" + kFlow + "/runs/" + std::to_string(run_number);
        const std::set<std::int64_t> expected(run_tasks.begin(), run_tasks.end());
        EXPECT_EQ(numbers_in(reader.get(run_url + "/steps/start/tasks").json(), "task_id"),
                  expected);
        EXPECT_EQ(numbers_in(reader.get(run_url + "/artifacts").json(), "task_id"), expected);
        EXPECT_EQ(reader.get(run_url + "/metadata").json().as_array().size(), 2 * expected.size());
        EXPECT_EQ(describe(tags_of(reader.get(run_url).json().at("tags"))), "{kept}");
    }

    // No tag mutation was lost: each contested run went through some serial order.
    for (int r = 0; r < kContestedRuns; ++r) {
        SCOPED_TRACE("contested run " + std::to_string(contested_runs[r]));
        EXPECT_EQ(record.contested[r].size(),
                  std::size_t{2 * kRunsPerClient * kClients / kContestedRuns});
        const auto stored =
            tags_of(reader.get("/flows/" + kFlow + "/runs/" + std::to_string(contested_runs[r]))
                        .json()
                        .at("tags"));
        expect_serialisable(initial_tags[r], record.contested[r], stored);
    }
}

TEST(Concurrency, FourServersOnPostgresAndSixtyFourClientsLoseNothing) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    run_load(4, {"MF_METADATA_DB_POOL_MAX=4"});
}

TEST(Concurrency, OneServerOnSqliteAndSixtyFourClientsLoseNothing) {
    if (testing_postgres()) GTEST_SKIP() << "SQLite pass only";
    run_load(1, {});
}

}  // namespace
}  // namespace mf::testing::reliability
