// Concurrent reads on one server share PostgreSQL pipelines (pg::Pool::read batches the
// statements of the reads that arrive together), and concurrent inserts and heartbeats share
// transactions (pg::Pool::write): each request still gets its own outcome, and a failing
// statement (a bad pattern, a task for a missing step) fails only its own request. Two
// transactions take the rows they update in one order, whichever way their requests name
// a run and its tasks, and so never deadlock.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_migrations.hpp"
#include "store/postgres/pg_store.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace asio = boost::asio;

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

// Two batches of writes at once, through the store on one event loop: the first heartbeats
// task 0 named by number and task 1 named by name, the second task 0 by name and task 1 by
// number, each beside metadata posts to the same tasks. Two other transactions hold the
// tasks' rows, one each, until both batches wait, then let go of task 0's, and once the
// batches wait again, of task 1's. Batches that took their locks in the order of what the
// requests say (numbers before names) would take them in opposite orders: the first would
// hold task 0's row and wait for task 1's, which the second, first in line for it, would
// hold while it waits for task 0's: a deadlock, which PostgreSQL breaks after a second.
class PostgresLockOrderTest : public ::testing::Test {
protected:
    static constexpr const char* kFlow = "LockFlow";
    static constexpr const char* kRunId = "argo-lockflow-x7k2p";

    void SetUp() override {
        if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
        database_.emplace(std::filesystem::temp_directory_path());
        schema_.emplace(database_->url(), pg::SchemaSetup{});
        ASSERT_TRUE(schema_->ready());
        loop_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        work_.reset();
        if (loop_.joinable()) loop_.join();
    }

    std::unique_ptr<Store> open_store() const {
        return open_postgres_store(
            PostgresOptions{.conninfo = database_->url(), .first_analyze_rows = 0});
    }

    // Runs `operation` on the loop; its outcome, once it finished.
    template <class T>
    std::future<Result<T>> on_loop(Async<T> operation) {
        auto outcome = std::make_shared<std::promise<Result<T>>>();
        auto future = outcome->get_future();
        asio::co_spawn(
            io_,
            [operation = std::move(operation), outcome]() mutable -> asio::awaitable<void> {
                outcome->set_value(co_await std::move(operation));
            },
            [outcome](std::exception_ptr failure) {
                if (failure) outcome->set_exception(failure);
            });
        return future;
    }

    // Waits until `count` of the database's transactions wait for a lock, each for one held
    // by a backend other than `released` (the pid of a transaction that ended).
    void await_lock_waits(pg::BlockingConnection& watcher, std::int64_t count,
                          std::int64_t released = 0) {
        for (int poll = 0; poll < 3000; ++poll) {
            const auto waits = watcher.execute(
                "SELECT count(*) FILTER (WHERE cardinality(pg_blocking_pids(pid)) > 0 AND NOT "
                "$1::int = ANY(pg_blocking_pids(pid))), count(*) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock'",
                {std::to_string(released)});
            if (waits.int64(0, 0) == count && waits.int64(0, 1) == count) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        FAIL() << count << " transactions never waited for a lock";
    }

    std::optional<TestDatabase> database_;
    std::optional<pg::SchemaPreparation> schema_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::thread loop_;
};

TEST_F(PostgresLockOrderTest, BatchesNamingTasksByNumberAndByNameTakeTheirRowsInOneOrder) {
    // A run with a run_id whose two tasks have names, created through one store; the writes
    // go through another (a second replica of the service), which has to find the numbers
    // the names stand for.
    auto creator = open_store();
    // Named, so that the coroutine's captures outlive it.
    auto create_run_and_tasks = [&]() -> Async<std::vector<std::int64_t>> {
        const StepPath step{kFlow, ObjectKey::name(kRunId), "start"};
        NewFlow flow{.flow_id = kFlow};
        if (auto made = co_await creator->create_flow(std::move(flow)); !made)
            co_return made.take_error();
        NewRun run{.flow_id = kFlow, .run_id = kRunId};
        auto made_run = co_await creator->create_run(std::move(run));
        if (!made_run) co_return made_run.take_error();
        NewStep new_step{};
        if (auto made = co_await creator->create_step(step, std::move(new_step)); !made)
            co_return made.take_error();
        std::vector<std::int64_t> numbers{made_run->run_number};
        for (const char* name : {"t-0", "t-1"}) {
            NewTask task{.task_name = name};
            auto made = co_await creator->create_task(step, std::move(task));
            if (!made) co_return made.take_error();
            numbers.push_back(made->task_id);
        }
        co_return numbers;
    };
    auto created = on_loop(create_run_and_tasks()).get();
    ASSERT_TRUE(created) << created.error().message;
    const ObjectKey run_number = ObjectKey::number(created->at(0));
    const ObjectKey run_id = ObjectKey::name(kRunId);
    const std::vector<ObjectKey> task_numbers{ObjectKey::number(created->at(1)),
                                              ObjectKey::number(created->at(2))};
    const std::vector<ObjectKey> task_names{ObjectKey::name("t-0"), ObjectKey::name("t-1")};
    auto by_number = [&](int task) {
        return TaskPath{kFlow, run_number, "start", task_numbers[static_cast<std::size_t>(task)]};
    };
    auto by_name = [&](int task) {
        return TaskPath{kFlow, run_id, "start", task_names[static_cast<std::size_t>(task)]};
    };

    auto writer = open_store();
    // The tasks' first heartbeats, by name: the writer looks up their numbers once.
    constexpr std::int64_t kBefore = 50;
    for (int task = 0; task < 2; ++task) {
        auto recorded = on_loop(writer->heartbeat_task(by_name(task), kBefore)).get();
        ASSERT_TRUE(recorded && *recorded) << "first heartbeat of task " << task;
    }
    // Every task heartbeat at second 100 is due again; the run's, recorded first, is not, so
    // that the task heartbeats update the tasks' rows alone.
    constexpr std::int64_t kNow = kBefore + 50;
    auto run_recorded = on_loop(writer->heartbeat_run(RunPath{kFlow, run_id}, kNow)).get();
    ASSERT_TRUE(run_recorded && *run_recorded);

    // One task heartbeat and one metadata post of each task, all joining one batch.
    struct Batch {
        std::vector<std::future<Result<bool>>> heartbeats;  // of task 0, then of task 1
        std::vector<std::future<Result<std::int64_t>>> posts;
    };
    auto send_batch = [&](const TaskPath& task_0, const TaskPath& task_1) {
        auto batch = std::make_shared<Batch>();
        auto heartbeat = [&](const TaskPath& path) {
            return on_loop(writer->heartbeat_task(path, kNow));
        };
        auto post = [&](const TaskPath& path) {
            std::vector<NewMetadata> records{
                NewMetadata{.field_name = "f", .value = "v", .type = "t"}};
            return on_loop(writer->add_metadata(path, std::move(records), kNow));
        };
        // Spawned from the loop itself, so that they gather before the batch is sent.
        std::promise<void> spawned;
        asio::post(io_, [&] {
            batch->heartbeats.push_back(heartbeat(task_0));
            batch->heartbeats.push_back(heartbeat(task_1));
            batch->posts.push_back(post(task_1));
            batch->posts.push_back(post(task_0));
            spawned.set_value();
        });
        spawned.get_future().wait();
        return batch;
    };

    pg::BlockingConnection watcher(database_->url());
    pg::BlockingConnection task_0_holder(database_->url());
    pg::BlockingConnection task_1_holder(database_->url());
    for (auto* holder : {&task_0_holder, &task_1_holder}) {
        const std::string task = holder == &task_0_holder ? "t-0" : "t-1";
        holder->execute("BEGIN");
        holder->execute("SELECT 1 FROM tasks_v3 WHERE task_name = $1 FOR UPDATE", {task});
    }
    auto first = send_batch(by_number(0), by_name(1));
    ASSERT_NO_FATAL_FAILURE(await_lock_waits(watcher, 1));
    auto second = send_batch(by_name(0), by_number(1));
    ASSERT_NO_FATAL_FAILURE(await_lock_waits(watcher, 2));
    const auto released = task_0_holder.execute("SELECT pg_backend_pid()").int64(0, 0);
    task_0_holder.execute("COMMIT");
    ASSERT_NO_FATAL_FAILURE(await_lock_waits(watcher, 2, released));
    task_1_holder.execute("COMMIT");

    // Each write got its own outcome: of each task's two heartbeats exactly one recorded it,
    // and each post stored its record.
    for (int task = 0; task < 2; ++task) {
        auto one = first->heartbeats[static_cast<std::size_t>(task)].get();
        auto other = second->heartbeats[static_cast<std::size_t>(task)].get();
        ASSERT_TRUE(one && other) << "heartbeats of task " << task;
        EXPECT_NE(*one, *other) << "heartbeats of task " << task;
    }
    for (const auto& batch : {first, second}) {
        for (auto& post : batch->posts) {
            auto stored = post.get();
            ASSERT_TRUE(stored) << stored.error().message;
            EXPECT_EQ(*stored, 1);
        }
    }
    // And no transaction was rolled back to break a deadlock.
    EXPECT_EQ(writer->database_errors()->deadlocks_retried, 0u);
    writer.reset();
    creator.reset();
}

}  // namespace
}  // namespace mf::testing
