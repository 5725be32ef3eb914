// Concurrent reads on one server share PostgreSQL pipelines (pg::Pool::read batches the
// statements of the reads that arrive together), and concurrent inserts and heartbeats share
// transactions (pg::Pool::write): each request still gets its own outcome, and a failing
// statement (a bad pattern, a task for a missing step) fails only its own request. Two
// transactions take the rows they update in one order, whichever way their requests name
// a run and its tasks, and so never deadlock.

#include <gtest/gtest.h>

#include <barrier>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

constexpr int kClients = 8;
constexpr int kRounds = 15;

struct Seen {
    std::vector<std::int64_t> task_ids;
    std::vector<std::string> failures;
};

constexpr std::string_view kBadPattern = "filtered_tasks?metadata_field_name=f&pattern=%28";
constexpr std::string_view kGoodPattern = "filtered_tasks?metadata_field_name=f&pattern=v";

// Creates a task in "start", and tries one in a step that does not exist: the new task's
// id, or nothing when the create failed.
std::optional<std::int64_t> create_task_and_a_failing_one(HttpClient& client,
                                                          unsigned missing_step_status,
                                                          Seen& seen) {
    const std::string run = "/flows/BatchFlow/runs/1/steps/";
    auto created = client.post(run + "start/task", R"({"user_name": "u"})");
    auto missing = client.post(run + "nosuchstep/task", R"({"user_name": "u"})");
    if (missing.status != missing_step_status)
        seen.failures.push_back("missing step: " + std::to_string(missing.status));
    if (created.status != 200) {
        seen.failures.push_back("create: " + created.body);
        return std::nullopt;
    }
    const auto task_id = created.json().at("task_id").as_int64();
    seen.task_ids.push_back(task_id);
    return task_id;
}

void client_rounds(std::uint16_t port, unsigned missing_status, Seen& seen) {
    HttpClient client(port);
    const std::string run = "/flows/BatchFlow/runs/1/steps/";
    for (int round = 0; round < kRounds; ++round) {
        const auto created = create_task_and_a_failing_one(client, missing_status, seen);
        if (!created) continue;
        const std::int64_t task_id = *created;
        auto read = client.get(run + "start/tasks/" + std::to_string(task_id));
        if (read.status != 200 || read.json().at("task_id").as_int64() != task_id)
            seen.failures.push_back("read of " + std::to_string(task_id) + ": " + read.body);
        auto bad = client.get(run + "start/" + std::string(kBadPattern));
        if (bad.status != 400) seen.failures.push_back("bad pattern: " + bad.body);
        auto good = client.get(run + "start/" + std::string(kGoodPattern));
        if (good.status != 200 || good.json().as_array().size() != 1)
            seen.failures.push_back("good pattern: " + good.body);
    }
}

// The flow, run 1 and step "start" that the clients work below.
void create_flow_run_and_step(HttpClient& setup) {
    ASSERT_EQ(setup.post("/flows/BatchFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup.post("/flows/BatchFlow/run", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup.post("/flows/BatchFlow/runs/1/steps/start/step", "{}").status, 200u);
}

TEST(PostgresBatchTest, ConcurrentRequestsKeepTheirOwnOutcomes) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server;
    auto setup = server.client();
    ASSERT_NO_FATAL_FAILURE(create_flow_run_and_step(setup));
    const std::string step = "/flows/BatchFlow/runs/1/steps/start/";
    ASSERT_EQ(setup.post(step + "task", "{}").status, 200u);
    ASSERT_EQ(setup
                  .post(step + "tasks/1/metadata",
                        R"([{"field_name": "f", "value": "v", "type": "t", "user_name": "u"}])")
                  .status,
              200u);
    // What a bad pattern answers alone, when its statement shares a pipeline with nobody.
    ASSERT_EQ(setup.get(step + std::string(kBadPattern)).status, 400u);
    // What a failing create answers alone, when it shares a pipeline with nobody.
    const unsigned missing_status =
        setup.post("/flows/BatchFlow/runs/1/steps/nosuchstep/task", "{}").status;
    ASSERT_GE(missing_status, 400u);
    ASSERT_LT(missing_status, 500u);

    std::vector<Seen> seen(kClients);
    std::vector<std::thread> clients;
    for (auto& each : seen)
        clients.emplace_back(client_rounds, server.port(), missing_status, std::ref(each));
    for (auto& client : clients) client.join();

    std::set<std::int64_t> task_ids;
    for (const auto& each : seen) {
        EXPECT_TRUE(each.failures.empty()) << each.failures.front();
        task_ids.insert(each.task_ids.begin(), each.task_ids.end());
    }
    EXPECT_EQ(task_ids.size(), std::size_t{kClients * kRounds});
    EXPECT_EQ(server.row_counts()["tasks_v3"], kClients * kRounds + 1);
}

constexpr std::string_view kRecords =
    R"([{"field_name": "a", "value": "1", "type": "t", "user_name": "u"},)"
    R"( {"field_name": "b", "value": "2", "type": "t", "user_name": "u"},)"
    R"( {"field_name": "c", "value": "3", "type": "t", "user_name": "u"}])";

void writer_rounds(std::uint16_t port, unsigned missing_step_status, unsigned missing_task_status,
                   Seen& written) {
    HttpClient client(port);
    const std::string run = "/flows/BatchFlow/runs/1/steps/";
    for (int round = 0; round < kRounds; ++round) {
        const auto task_id = create_task_and_a_failing_one(client, missing_step_status, written);
        if (!task_id) continue;
        const std::string task = run + "start/tasks/" + std::to_string(*task_id);
        auto metadata = client.post(task + "/metadata", std::string(kRecords));
        if (metadata.status != 200) written.failures.push_back("metadata: " + metadata.body);
        auto missing_task =
            client.post(run + "start/tasks/999999999/metadata", std::string(kRecords));
        if (missing_task.status != missing_task_status)
            written.failures.push_back("missing task: " + std::to_string(missing_task.status));
    }
}

TEST(PostgresBatchTest, ConcurrentInsertsShareCommitsAndKeepTheirOwnOutcomes) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server;
    auto setup = server.client();
    ASSERT_NO_FATAL_FAILURE(create_flow_run_and_step(setup));
    // What the failing writes answer alone, when they share a transaction with nobody.
    const unsigned missing_step_status =
        setup.post("/flows/BatchFlow/runs/1/steps/nosuchstep/task", "{}").status;
    ASSERT_GE(missing_step_status, 400u);
    ASSERT_LT(missing_step_status, 500u);
    const unsigned missing_task_status =
        setup
            .post("/flows/BatchFlow/runs/1/steps/start/tasks/999999999/metadata",
                  std::string(kRecords))
            .status;
    ASSERT_GE(missing_task_status, 400u);
    ASSERT_LT(missing_task_status, 500u);

    std::vector<Seen> written(kClients);
    std::vector<std::thread> clients;
    for (auto& each : written) {
        clients.emplace_back(writer_rounds, server.port(), missing_step_status, missing_task_status,
                             std::ref(each));
    }
    for (auto& client : clients) client.join();

    std::set<std::int64_t> task_ids;
    for (const auto& each : written) {
        EXPECT_TRUE(each.failures.empty()) << each.failures.front();
        task_ids.insert(each.task_ids.begin(), each.task_ids.end());
    }
    constexpr int kWrites = kClients * kRounds;
    EXPECT_EQ(task_ids.size(), std::size_t{kWrites});
    auto counts = server.row_counts();
    EXPECT_EQ(counts["tasks_v3"], kWrites);
    EXPECT_EQ(counts["metadata_v3"], 3 * kWrites);
    // Each row's xmin is the transaction that inserted it: fewer transactions than tasks means
    // concurrent creates were committed together.
    pg::BlockingConnection db(server.database_url());
    const auto transactions =
        db.execute("SELECT count(DISTINCT xmin::text) FROM tasks_v3").int64(0, 0);
    EXPECT_LT(transactions, kWrites);
    // No metadata row without its task, none lost from a batch that ran again.
    EXPECT_EQ(db.execute("SELECT count(*) FROM metadata_v3 m WHERE NOT EXISTS (SELECT 1 FROM "
                         "tasks_v3 t WHERE t.task_id = m.task_id)")
                  .int64(0, 0),
              0);
}

// A task of a client too old to send heartbeats: it has none, so its first is due.
constexpr std::string_view kOldTask =
    R"({"user_name": "u", "system_tags": ["metaflow_version:2.0.0"]})";

struct HeartbeatStatuses {
    unsigned first;    // of a new task's first heartbeat
    unsigned again;    // of a second one right after (within the heartbeat interval)
    unsigned missing;  // of a task that does not exist
};

// Creates tasks in run 1 or 2 and heartbeats each twice, beside a missing task's heartbeat
// and its run's: every heartbeat must answer as it did alone.
void heartbeat_rounds(std::uint16_t port, int client_number, HeartbeatStatuses alone, Seen& seen) {
    HttpClient client(port);
    const std::string run = "/flows/BatchFlow/runs/" + std::to_string(1 + client_number % 2);
    const std::string step = run + "/steps/start/";
    for (int round = 0; round < kRounds; ++round) {
        auto created = client.post(step + "task", std::string(kOldTask));
        if (created.status != 200) {
            seen.failures.push_back("create: " + created.body);
            continue;
        }
        const auto task_id = created.json().at("task_id").as_int64();
        seen.task_ids.push_back(task_id);
        const std::string task = step + "tasks/" + std::to_string(task_id) + "/heartbeat";
        const auto first = client.post(task).status;
        const auto again = client.post(task).status;
        const auto missing = client.post(step + "tasks/999999999/heartbeat").status;
        const auto of_run = client.post(run + "/heartbeat").status;
        if (first != alone.first || again != alone.again || missing != alone.missing ||
            (of_run != 200 && of_run != 404)) {
            seen.failures.push_back("heartbeats of task " + std::to_string(task_id) + ": " +
                                    std::to_string(first) + " " + std::to_string(again) + " " +
                                    std::to_string(missing) + ", of its run " +
                                    std::to_string(of_run));
        }
    }
}

TEST(PostgresBatchTest, ConcurrentHeartbeatsShareCommitsAndKeepTheirOwnOutcomes) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server;
    auto setup = server.client();
    ASSERT_NO_FATAL_FAILURE(create_flow_run_and_step(setup));
    ASSERT_EQ(setup.post("/flows/BatchFlow/run", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup.post("/flows/BatchFlow/runs/2/steps/start/step", "{}").status, 200u);
    // What each heartbeat answers alone, when it shares a transaction with nobody.
    const std::string step = "/flows/BatchFlow/runs/1/steps/start/";
    auto created = setup.post(step + "task", std::string(kOldTask));
    ASSERT_EQ(created.status, 200u);
    const std::string task =
        step + "tasks/" + std::to_string(created.json().at("task_id").as_int64()) + "/heartbeat";
    HeartbeatStatuses alone{};
    alone.first = setup.post(task).status;
    alone.again = setup.post(task).status;
    alone.missing = setup.post(step + "tasks/999999999/heartbeat").status;
    ASSERT_EQ(alone.first, 200u);
    ASSERT_EQ(alone.again, 404u);
    ASSERT_EQ(alone.missing, 404u);

    std::vector<Seen> seen(kClients);
    std::vector<std::thread> clients;
    for (int client = 0; client < kClients; ++client) {
        clients.emplace_back(heartbeat_rounds, server.port(), client, alone,
                             std::ref(seen[static_cast<std::size_t>(client)]));
    }
    for (auto& client : clients) client.join();

    std::size_t tasks = 0;
    for (const auto& each : seen) {
        EXPECT_TRUE(each.failures.empty()) << each.failures.front();
        tasks += each.task_ids.size();
    }
    EXPECT_EQ(tasks, std::size_t{kClients * kRounds});
    pg::BlockingConnection db(server.database_url());
    EXPECT_EQ(
        db.execute("SELECT count(*) FROM tasks_v3 WHERE last_heartbeat_ts IS NULL").int64(0, 0), 0);
    // A heartbeat's update gives its task row the xmin of the transaction that made it: a
    // task sharing its xmin with another row was heartbeated in a transaction of several
    // writes.
    EXPECT_GT(db.execute("SELECT count(*) FROM tasks_v3 t WHERE EXISTS (SELECT 1 FROM tasks_v3 "
                         "o WHERE o.xmin = t.xmin AND o.task_id <> t.task_id)")
                  .int64(0, 0),
              0);
}

// A run with a run_id, whose tasks have names: a request may name each either way.
constexpr std::string_view kNamedRun = "argo-batchflow-x7k2p";
constexpr int kNamedTasks = 8;
constexpr int kNamingRounds = 30;
constexpr std::int64_t kFirstRoundMs = 1'800'000'000'000;

std::string named_task(int index) {
    return "t-" + std::to_string(index);
}

// The run's and its tasks' numbers, and the client's old version: it sends no heartbeat with
// a create, so each task's first heartbeat is due.
struct NamedRun {
    std::int64_t run_number = 0;
    std::vector<std::int64_t> task_ids;
};

struct NamingTally {
    std::vector<std::string> failures;
    std::vector<int> recorded;  // per task, its heartbeats that answered 200
    int metadata_posts = 0;
};

// Each round, from the same clock reading (due for every task), heartbeats every task of
// the run in an order of the client's own and posts a metadata record to every other one;
// each request names the run and the task by number or by name, each client its own way.
template <class Barrier>
void naming_rounds(std::uint16_t port, int client_number, const NamedRun& named,
                   Barrier& round_start, NamingTally& tally) {
    HttpClient client(port);
    tally.recorded.assign(kNamedTasks, 0);
    for (int round = 0; round < kNamingRounds; ++round) {
        round_start.arrive_and_wait();
        for (int step = 0; step < kNamedTasks; ++step) {
            const int index = (client_number * 3 + step) % kNamedTasks;
            const bool run_by_number = (client_number + round) % 2 == 0;
            const bool task_by_number = (client_number + round + step) % 3 != 0;
            const std::string run =
                "/flows/BatchFlow/runs/" +
                (run_by_number ? std::to_string(named.run_number) : std::string(kNamedRun));
            const std::string task =
                run + "/steps/start/tasks/" +
                (task_by_number ? std::to_string(named.task_ids[static_cast<std::size_t>(index)])
                                : named_task(index));
            const auto beat = client.post(task + "/heartbeat").status;
            if (beat == 200) ++tally.recorded[static_cast<std::size_t>(index)];
            if (beat != 200 && beat != 404)
                tally.failures.push_back(task + "/heartbeat: " + std::to_string(beat));
            if (step % 2 == 1) {
                const std::string field = "c" + std::to_string(client_number) + "-r" +
                                          std::to_string(round) + "-s" + std::to_string(step);
                const auto posted =
                    client.post(task + "/metadata", R"([{"field_name": ")" + field +
                                                        R"(", "value": "v", "type": "t"}])");
                if (posted.status == 200) {
                    ++tally.metadata_posts;
                } else {
                    tally.failures.push_back(task + "/metadata: " + posted.body);
                }
            }
            if (step == 0) {
                const auto of_run = client.post(run + "/heartbeat").status;
                if (of_run != 200 && of_run != 404)
                    tally.failures.push_back(run + "/heartbeat: " + std::to_string(of_run));
            }
        }
    }
}

// The value of a sample of the exposition at /metrics, or -1 when it is missing.
double metric_sample(HttpClient& client, const std::string& sample) {
    const auto body = client.get("/metrics").body;
    const auto at = body.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + sample.size() + 2));
}

TEST(PostgresBatchTest, WritesNamingARunAndItsTasksByIdOrByNumberNeverDeadlock) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server(TestServerOptions{.manual_clock = true});
    server.clock().set_ms(kFirstRoundMs);
    auto setup = server.client();
    ASSERT_EQ(setup.post("/flows/BatchFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup
                  .post("/flows/BatchFlow/run",
                        R"({"user_name": "u", "run_number": ")" + std::string(kNamedRun) +
                            R"(", "system_tags": ["metaflow_version:2.0.0"]})")
                  .status,
              200u);
    const std::string run = "/flows/BatchFlow/runs/" + std::string(kNamedRun);
    ASSERT_EQ(setup.post(run + "/steps/start/step", "{}").status, 200u);
    for (int index = 0; index < kNamedTasks; ++index) {
        ASSERT_EQ(setup
                      .post(run + "/steps/start/task",
                            R"({"user_name": "u", "task_id": ")" + named_task(index) +
                                R"(", "system_tags": ["metaflow_version:2.0.0"]})")
                      .status,
                  200u);
    }
    pg::BlockingConnection db(server.database_url());
    NamedRun named;
    named.run_number = db.execute("SELECT run_number FROM runs_v3").int64(0, 0);
    for (int index = 0; index < kNamedTasks; ++index) {
        named.task_ids.push_back(
            db.execute("SELECT task_id FROM tasks_v3 WHERE task_name = $1", {named_task(index)})
                .int64(0, 0));
    }

    // Each round starts 11 s after the last, so that every heartbeat is due again once.
    std::int64_t now_ms = kFirstRoundMs;
    auto next_round = [&]() noexcept {
        now_ms += 11'000;
        server.clock().set_ms(now_ms);
    };
    std::barrier round_start(kClients, next_round);
    std::vector<NamingTally> tallies(kClients);
    std::vector<std::thread> clients;
    for (int client = 0; client < kClients; ++client) {
        clients.emplace_back([&, client] {
            naming_rounds(server.port(), client, named, round_start,
                          tallies[static_cast<std::size_t>(client)]);
        });
    }
    for (auto& client : clients) client.join();

    // Each request got its own outcome: every heartbeat 200 or 404, and of each task's
    // heartbeats of one round exactly one recorded it; every metadata post stored its record.
    std::vector<int> recorded(kNamedTasks, 0);
    int metadata_posts = 0;
    for (const auto& tally : tallies) {
        EXPECT_TRUE(tally.failures.empty()) << tally.failures.front();
        for (int index = 0; index < kNamedTasks; ++index)
            recorded[static_cast<std::size_t>(index)] +=
                tally.recorded[static_cast<std::size_t>(index)];
        metadata_posts += tally.metadata_posts;
    }
    EXPECT_EQ(recorded, std::vector<int>(kNamedTasks, kNamingRounds));
    EXPECT_EQ(metadata_posts, kClients * kNamingRounds * kNamedTasks / 2);
    EXPECT_EQ(server.row_counts()["metadata_v3"], metadata_posts);
    EXPECT_EQ(db.execute("SELECT count(*) FROM tasks_v3 WHERE last_heartbeat_ts = $1",
                         {std::to_string(now_ms / 1000)})
                  .int64(0, 0),
              kNamedTasks);
    // No transaction was rolled back to break a deadlock (PostgreSQL finds one only after
    // deadlock_timeout, a second of waiting for the requests in it).
    EXPECT_EQ(metric_sample(setup, R"(mf_db_transactions_retried_total{reason="deadlock"})"), 0);
}

}  // namespace
}  // namespace mf::testing
