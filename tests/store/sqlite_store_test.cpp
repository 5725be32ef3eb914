#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "model/clock.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/sqlite_writer.hpp"

namespace mf {
namespace {

namespace asio = boost::asio;

constexpr std::int64_t kNow = 1'718'000'000;  // seconds

// Runs one store operation to completion on a private event loop.
template <class T>
Result<T> await(asio::awaitable<Result<T>> operation) {
    asio::io_context io;
    std::optional<Result<T>> outcome;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { outcome.emplace(co_await std::move(operation)); },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    if (!outcome) throw std::runtime_error("the operation never completed");
    return std::move(*outcome);
}

// Runs several operations at once on one event loop, so that their writes queue together.
template <class T>
std::vector<Result<T>> await_all(std::vector<asio::awaitable<Result<T>>> operations) {
    asio::io_context io;
    std::vector<std::optional<Result<T>>> outcomes(operations.size());
    for (std::size_t i = 0; i < operations.size(); ++i) {
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                outcomes[i].emplace(co_await std::move(operations[i]));
            },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
    }
    io.run();
    std::vector<Result<T>> results;
    for (auto& outcome : outcomes) results.push_back(std::move(outcome.value()));
    return results;
}

// The value of a result that must have succeeded; a failure fails the test.
template <class T>
T ok(Result<T> result) {
    if (!result.ok()) {
        throw std::runtime_error("unexpected error " +
                                 std::to_string(static_cast<int>(result.error().kind)) + ": " +
                                 result.error().message);
    }
    return std::move(result).value();
}

template <class T>
ErrorKind error_kind(const Result<T>& result) {
    if (result.ok()) throw std::runtime_error("expected an error, got a value");
    return result.error().kind;
}

ObjectKey num(std::int64_t n) {
    return ObjectKey::number(n);
}
ObjectKey name(std::string s) {
    return ObjectKey::name(std::move(s));
}

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "mf-sqlite-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

class SqliteStoreTest : public ::testing::Test {
protected:
    SqliteStoreTest() : clock_(kNow * 1000) { open(); }

    void open() {
        store_.reset();
        store_ = open_sqlite_store(SqliteOptions{.path = path(), .clock = &clock_});
    }
    std::string path() const { return dir_.file("metadata.db"); }
    Store& store() { return *store_; }

    Flow make_flow(const std::string& flow_id, std::int64_t ts_epoch = 1000) {
        return ok(await(store().create_flow(NewFlow{.flow_id = flow_id, .ts_epoch = ts_epoch})));
    }

    mf::Run make_run(const std::string& flow_id, OptString run_id = std::nullopt,
                     std::int64_t ts_epoch = 2000) {
        return ok(await(store().create_run(NewRun{
            .flow_id = flow_id,
            .run_id = std::move(run_id),
            .user_name = "alice",
            .tags = R"(["team:ml"])",
            .system_tags = R"(["user:alice","runtime:dev"])",
            .ts_epoch = ts_epoch,
        })));
    }

    Step make_step(const std::string& flow_id, ObjectKey run, const std::string& step_name) {
        return ok(await(store().create_step(StepPath{flow_id, std::move(run), step_name},
                                            NewStep{.user_name = "alice", .ts_epoch = 3000})));
    }

    Task make_task(const std::string& flow_id, ObjectKey run, const std::string& step_name,
                   OptString task_name = std::nullopt, std::int64_t ts_epoch = 4000) {
        return ok(await(store().create_task(
            StepPath{flow_id, std::move(run), step_name},
            NewTask{
                .task_name = std::move(task_name), .user_name = "alice", .ts_epoch = ts_epoch})));
    }

    std::int64_t add_metadata(const TaskPath& path, std::vector<NewMetadata> records,
                              std::int64_t ts_epoch) {
        return ok(await(store().add_metadata(path, std::move(records), ts_epoch)));
    }

    std::int64_t add_artifact(const TaskPath& path, const std::string& artifact_name,
                              std::int32_t attempt, std::int64_t ts_epoch,
                              const std::string& location = "s3://x") {
        return ok(await(store().add_artifacts(path,
                                              {NewArtifact{.name = artifact_name,
                                                           .location = location,
                                                           .ds_type = "s3",
                                                           .attempt_id = attempt}},
                                              ts_epoch)));
    }

    TempDir dir_;
    ManualClock clock_;
    std::unique_ptr<Store> store_;
};

std::vector<std::string> artifact_keys(const std::vector<Artifact>& artifacts) {
    std::vector<std::string> keys;
    for (const auto& a : artifacts)
        keys.push_back(std::to_string(a.task_id) + "/" + a.name + "@" +
                       std::to_string(a.attempt_id));
    return keys;
}

std::vector<std::int64_t> run_numbers(const std::vector<Run>& runs) {
    std::vector<std::int64_t> numbers;
    for (const auto& run : runs) numbers.push_back(run.run_number);
    return numbers;
}

std::vector<std::int64_t> task_ids(const std::vector<Task>& tasks) {
    std::vector<std::int64_t> ids;
    for (const auto& task : tasks) ids.push_back(task.task_id);
    return ids;
}

// --- Flows ---

TEST_F(SqliteStoreTest, FlowIsCreatedReadAndListedNewestFirst) {
    Flow created = ok(await(store().create_flow(
        NewFlow{.flow_id = "HelloFlow", .user_name = "bob", .tags = R"(["a"])", .ts_epoch = 10})));
    EXPECT_EQ(created.flow_id, "HelloFlow");
    EXPECT_EQ(created.tags, R"(["a"])");
    make_flow("Other", 20);

    Flow read = ok(await(store().get_flow("HelloFlow")));
    EXPECT_EQ(read.user_name, "bob");
    EXPECT_EQ(read.ts_epoch, 10);
    EXPECT_EQ(read.tags, R"(["a"])");
    EXPECT_EQ(read.system_tags, "null");

    auto flows = ok(await(store().list_flows(std::nullopt)));
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows[0].flow_id, "Other");
    EXPECT_EQ(flows[1].flow_id, "HelloFlow");
}

TEST_F(SqliteStoreTest, DuplicateFlowIsAlreadyExistsAndMissingFlowIsNotFound) {
    make_flow("HelloFlow");
    auto duplicate = await(store().create_flow(NewFlow{.flow_id = "HelloFlow"}));
    EXPECT_EQ(error_kind(duplicate), ErrorKind::already_exists);
    EXPECT_NE(duplicate.error().message.find("flows_v3_pkey"), std::string::npos);
    EXPECT_NE(duplicate.error().message.find("Key (flow_id)=(HelloFlow) already exists."),
              std::string::npos);
    EXPECT_EQ(error_kind(await(store().get_flow("Nope"))), ErrorKind::not_found);
}

// --- Runs ---

TEST_F(SqliteStoreTest, RunNumbersAreGlobalAndBothKeysReachTheRun) {
    make_flow("A");
    make_flow("B");
    mf::Run first = make_run("A");
    mf::Run second = make_run("B", "argo-x");
    mf::Run third = make_run("A");
    EXPECT_LT(first.run_number, second.run_number);
    EXPECT_LT(second.run_number, third.run_number);
    EXPECT_EQ(first.run_id, std::nullopt);
    EXPECT_EQ(second.run_id, "argo-x");

    mf::Run by_number = ok(await(store().get_run(RunPath{"B", num(second.run_number)})));
    mf::Run by_name = ok(await(store().get_run(RunPath{"B", name("argo-x")})));
    EXPECT_EQ(by_number.run_number, second.run_number);
    EXPECT_EQ(by_name.run_number, second.run_number);
    EXPECT_EQ(by_name.run_id, "argo-x");
    EXPECT_EQ(by_name.tags, R"(["team:ml"])");
    EXPECT_EQ(by_name.system_tags, R"(["user:alice","runtime:dev"])");
    EXPECT_EQ(by_name.user_name, "alice");

    // A run of another flow, a negative number and an unknown name all miss.
    EXPECT_EQ(error_kind(await(store().get_run(RunPath{"A", num(second.run_number)}))),
              ErrorKind::not_found);
    EXPECT_EQ(error_kind(await(store().get_run(RunPath{"B", num(-1)}))), ErrorKind::not_found);
    EXPECT_EQ(error_kind(await(store().get_run(RunPath{"B", name("nope")}))), ErrorKind::not_found);
}

TEST_F(SqliteStoreTest, RunCreateChecksFlowAndRunIdUniqueness) {
    auto orphan = await(store().create_run(NewRun{.flow_id = "Missing", .ts_epoch = 1}));
    EXPECT_EQ(error_kind(orphan), ErrorKind::missing_parent);

    make_flow("A");
    make_flow("B");
    make_run("A", "sfn-1");
    EXPECT_EQ(error_kind(await(store().create_run(NewRun{.flow_id = "A", .run_id = "sfn-1"}))),
              ErrorKind::already_exists);
    // The same string id in another flow is a different run.
    EXPECT_TRUE(await(store().create_run(NewRun{.flow_id = "B", .run_id = "sfn-1"})).ok());
}

TEST_F(SqliteStoreTest, RunHeartbeatIsSetOnCreateAndThrottledForTenSeconds) {
    make_flow("F");
    mf::Run run = ok(await(store().create_run(NewRun{.flow_id = "F", .heartbeat_ts = kNow})));
    EXPECT_EQ(run.last_heartbeat_ts, kNow);
    RunPath path{"F", num(run.run_number)};

    EXPECT_FALSE(ok(await(store().heartbeat_run(path, kNow + 9))));
    EXPECT_TRUE(ok(await(store().heartbeat_run(path, kNow + 10))));  // boundary inclusive
    EXPECT_EQ(ok(await(store().get_run(path))).last_heartbeat_ts, kNow + 10);
    EXPECT_FALSE(ok(await(store().heartbeat_run(RunPath{"F", num(run.run_number + 100)}, kNow))));

    mf::Run silent = make_run("F");
    EXPECT_EQ(silent.last_heartbeat_ts, std::nullopt);
    EXPECT_TRUE(ok(await(store().heartbeat_run(RunPath{"F", num(silent.run_number)}, 5))));
}

TEST_F(SqliteStoreTest, ConcurrentHeartbeatsLetExactlyOneWin) {
    make_flow("F");
    mf::Run run = make_run("F", "r1");
    make_step("F", num(run.run_number), "start");
    Task task = make_task("F", num(run.run_number), "start");
    for (int round = 0; round < 5; ++round) {
        const std::int64_t now = kNow + round * 100;
        std::vector<Async<bool>> runs;
        runs.push_back(store().heartbeat_run(RunPath{"F", name("r1")}, now));
        runs.push_back(store().heartbeat_run(RunPath{"F", num(run.run_number)}, now));
        auto run_results = await_all(std::move(runs));
        EXPECT_NE(ok(std::move(run_results[0])), ok(std::move(run_results[1])));

        // Each task heartbeat also refreshes the run, which was just refreshed: no effect.
        std::vector<Async<bool>> tasks;
        for (int i = 0; i < 2; ++i) {
            tasks.push_back(store().heartbeat_task(
                TaskPath{"F", num(run.run_number), "start", num(task.task_id)}, now + 1));
        }
        auto task_results = await_all(std::move(tasks));
        EXPECT_NE(ok(std::move(task_results[0])), ok(std::move(task_results[1])));
    }
}

TEST_F(SqliteStoreTest, TaskHeartbeatRefreshesRunThenTask) {
    make_flow("F");
    mf::Run run = make_run("F");
    make_step("F", num(run.run_number), "start");
    Task task = make_task("F", num(run.run_number), "start", "t-1");
    TaskPath path{"F", num(run.run_number), "start", name("t-1")};

    EXPECT_TRUE(ok(await(store().heartbeat_task(path, kNow))));
    EXPECT_EQ(ok(await(store().get_run(RunPath{"F", num(run.run_number)}))).last_heartbeat_ts,
              kNow);
    EXPECT_EQ(ok(await(store().get_task(path))).last_heartbeat_ts, kNow);
    EXPECT_FALSE(ok(await(store().heartbeat_task(path, kNow + 3))));
    EXPECT_FALSE(ok(await(store().heartbeat_task(
        TaskPath{"F", num(run.run_number), "start", num(task.task_id + 1)}, kNow + 30))));
    // The unknown task still refreshed the run.
    EXPECT_EQ(ok(await(store().get_run(RunPath{"F", num(run.run_number)}))).last_heartbeat_ts,
              kNow + 30);
}

TEST_F(SqliteStoreTest, TagMutationIsStoredAndRefusesSystemTags) {
    make_flow("F");
    mf::Run run = make_run("F", "r1");
    RunPath path{"F", name("r1")};

    MutatedTags changed = ok(await(store().mutate_run_tags(
        path, TagMutation{.add = {"reviewed", "user:alice"}, .remove = {"team:ml"}})));
    EXPECT_TRUE(changed.changed);
    EXPECT_EQ(changed.tags, R"(["reviewed"])");
    EXPECT_EQ(ok(await(store().get_run(path))).tags, R"(["reviewed"])");

    MutatedTags same = ok(await(store().mutate_run_tags(path, TagMutation{.add = {"reviewed"}})));
    EXPECT_FALSE(same.changed);
    EXPECT_EQ(same.tags, R"(["reviewed"])");

    auto refused = await(store().mutate_run_tags(path, TagMutation{.remove = {"runtime:dev"}}));
    EXPECT_EQ(error_kind(refused), ErrorKind::unprocessable);
    EXPECT_EQ(error_kind(await(store().mutate_run_tags(RunPath{"F", name("zz")}, TagMutation{}))),
              ErrorKind::not_found);

    // Children show the run's new tags.
    make_step("F", num(run.run_number), "start");
    EXPECT_EQ(ok(await(store().get_step(StepPath{"F", name("r1"), "start"}))).tags,
              R"(["reviewed"])");
}

// --- Steps and tasks ---

TEST_F(SqliteStoreTest, StepsCarryRunIdAndRunTagsAndListInByteOrder) {
    make_flow("F");
    mf::Run numeric = make_run("F");
    mf::Run named = make_run("F", "argo-1");

    Step step = ok(await(store().create_step(
        StepPath{"F", num(numeric.run_number), "start"},
        NewStep{.user_name = "", .tags = R"(["own"])", .system_tags = "[]", .ts_epoch = 5})));
    EXPECT_EQ(step.run_id, std::to_string(numeric.run_number));
    EXPECT_EQ(step.tags, R"(["team:ml"])");
    EXPECT_EQ(step.system_tags, R"(["user:alice","runtime:dev"])");
    EXPECT_EQ(step.user_name, "");

    Step named_step = make_step("F", name("argo-1"), "start");
    EXPECT_EQ(named_step.run_id, "argo-1");
    EXPECT_EQ(named_step.run_number, named.run_number);

    for (const char* step_name : {"middle", "end", "_parameters", "Zeta"})
        make_step("F", num(numeric.run_number), step_name);
    auto steps = ok(await(store().list_steps(RunPath{"F", num(numeric.run_number)})));
    std::vector<std::string> names;
    for (const auto& s : steps) names.push_back(s.step_name);
    EXPECT_EQ(names, (std::vector<std::string>{"Zeta", "_parameters", "end", "middle", "start"}));
    EXPECT_EQ(steps[0].tags, R"(["team:ml"])");

    Step read = ok(await(store().get_step(StepPath{"F", num(numeric.run_number), "start"})));
    EXPECT_EQ(read.tags, R"(["team:ml"])");
    EXPECT_EQ(read.ts_epoch, 5);
    EXPECT_EQ(error_kind(await(store().get_step(StepPath{"F", num(numeric.run_number), "nope"}))),
              ErrorKind::not_found);
    EXPECT_TRUE(ok(await(store().list_steps(RunPath{"F", name("nope")}))).empty());
}

TEST_F(SqliteStoreTest, StepCreateNeedsRunAndRefusesDuplicates) {
    make_flow("F");
    mf::Run run = make_run("F");
    EXPECT_EQ(
        error_kind(await(store().create_step(StepPath{"F", name("nope"), "start"}, NewStep{}))),
        ErrorKind::missing_parent);
    make_step("F", num(run.run_number), "start");
    EXPECT_EQ(error_kind(await(
                  store().create_step(StepPath{"F", num(run.run_number), "start"}, NewStep{}))),
              ErrorKind::already_exists);
}

TEST_F(SqliteStoreTest, TaskCreateChecksParentsAndGraftsRunTags) {
    make_flow("F");
    mf::Run run = make_run("F", "argo-1");
    EXPECT_EQ(
        error_kind(await(store().create_task(StepPath{"F", name("nope"), "start"}, NewTask{}))),
        ErrorKind::missing_parent);
    EXPECT_EQ(
        error_kind(await(store().create_task(StepPath{"F", name("argo-1"), "start"}, NewTask{}))),
        ErrorKind::missing_parent);
    make_step("F", name("argo-1"), "start");

    Task named = ok(await(store().create_task(
        StepPath{"F", name("argo-1"), "start"},
        NewTask{
            .task_name = "t-9f2c", .tags = R"(["own"])", .ts_epoch = 7, .heartbeat_ts = kNow})));
    EXPECT_EQ(named.task_name, "t-9f2c");
    EXPECT_EQ(named.run_id, "argo-1");
    EXPECT_EQ(named.run_number, run.run_number);
    EXPECT_EQ(named.tags, R"(["team:ml"])");
    EXPECT_EQ(named.last_heartbeat_ts, kNow);
    // A heartbeating task refreshes its run.
    EXPECT_EQ(ok(await(store().get_run(RunPath{"F", name("argo-1")}))).last_heartbeat_ts, kNow);

    EXPECT_EQ(error_kind(await(store().create_task(StepPath{"F", num(run.run_number), "start"},
                                                   NewTask{.task_name = "t-9f2c"}))),
              ErrorKind::already_exists);

    Task read =
        ok(await(store().get_task(TaskPath{"F", num(run.run_number), "start", name("t-9f2c")})));
    EXPECT_EQ(read.task_id, named.task_id);
    EXPECT_EQ(read.tags, R"(["team:ml"])");
    EXPECT_EQ(read.system_tags, R"(["user:alice","runtime:dev"])");
    Task by_id =
        ok(await(store().get_task(TaskPath{"F", name("argo-1"), "start", num(named.task_id)})));
    EXPECT_EQ(by_id.task_name, "t-9f2c");
    EXPECT_EQ(error_kind(await(
                  store().get_task(TaskPath{"F", name("argo-1"), "end", num(named.task_id)}))),
              ErrorKind::not_found);
}

TEST_F(SqliteStoreTest, ConcurrentTaskCreatesGetUniqueIds) {
    make_flow("F");
    mf::Run run = make_run("F");
    make_step("F", num(run.run_number), "start");
    constexpr int kThreads = 8;
    constexpr int kTasksPerThread = 25;
    std::mutex mutex;
    std::vector<std::int64_t> ids;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            std::vector<Async<Task>> creates;
            for (int i = 0; i < kTasksPerThread; ++i) {
                creates.push_back(store().create_task(StepPath{"F", num(run.run_number), "start"},
                                                      NewTask{.ts_epoch = i}));
            }
            for (auto& result : await_all(std::move(creates))) {
                if (!result.ok()) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(mutex);
                ids.push_back(result->task_id);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures, 0);
    std::set<std::int64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), static_cast<std::size_t>(kThreads * kTasksPerThread));
    auto listed =
        ok(await(store().list_tasks(StepPath{"F", num(run.run_number), "start"}, TaskQuery{})));
    EXPECT_EQ(listed.size(), unique.size());
}

TEST_F(SqliteStoreTest, GroupCommitKeepsOthersWhenOneJobFails) {
    make_flow("Taken");
    std::vector<Async<Flow>> creates;
    for (int i = 0; i < 60; ++i) {
        std::string flow_id = i == 30 ? "Taken" : "Flow" + std::to_string(i);
        creates.push_back(store().create_flow(NewFlow{.flow_id = flow_id, .ts_epoch = i}));
    }
    auto results = await_all(std::move(creates));
    for (int i = 0; i < 60; ++i) {
        if (i == 30) {
            EXPECT_EQ(error_kind(results[i]), ErrorKind::already_exists);
        } else {
            EXPECT_TRUE(results[i].ok()) << i;
        }
    }
    // Reopening proves the writes were committed, not just visible to this process.
    open();
    EXPECT_EQ(ok(await(store().list_flows(std::nullopt))).size(), 60u);
    EXPECT_EQ(ok(await(store().get_flow("Taken"))).ts_epoch, 1000);
}

// --- Metadata ---

TEST_F(SqliteStoreTest, MetadataAppendsAndListsNewestFirst) {
    make_flow("F");
    mf::Run run = make_run("F", "r1");
    make_step("F", name("r1"), "start");
    Task task = make_task("F", name("r1"), "start", "t1");
    TaskPath path{"F", num(run.run_number), "start", num(task.task_id)};

    NewMetadata attempt{
        .field_name = "attempt", .value = "0", .type = "attempt", .tags = R"(["attempt_id:0"])"};
    EXPECT_EQ(add_metadata(path, {attempt, attempt}, 100), 2);
    EXPECT_EQ(add_metadata(
                  TaskPath{"F", name("r1"), "start", name("t1")},
                  {NewMetadata{.field_name = "runtime", .value = "dev", .type = "runtime"}}, 200),
              1);
    EXPECT_EQ(add_metadata(path, {}, 300), 0);

    auto records = ok(await(store().list_task_metadata(path, std::nullopt)));
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].field_name, "runtime");
    EXPECT_EQ(records[0].run_id, "r1");
    EXPECT_EQ(records[0].task_name, "t1");
    EXPECT_EQ(records[0].ts_epoch, 200);
    EXPECT_GT(records[1].id, records[2].id);            // equal ts_epoch: higher id first
    EXPECT_EQ(records[1].tags, R"(["attempt_id:0"])");  // own tags, not grafted
    EXPECT_EQ(records[1].system_tags, "null");

    auto run_records = ok(await(store().list_run_metadata(RunPath{"F", name("r1")}, std::nullopt)));
    EXPECT_EQ(run_records.size(), 3u);

    EXPECT_EQ(error_kind(await(store().add_metadata(
                  TaskPath{"F", name("nope"), "start", num(task.task_id)}, {attempt}, 1))),
              ErrorKind::register_first);
    EXPECT_EQ(error_kind(await(store().add_metadata(
                  TaskPath{"F", name("r1"), "start", name("nope")}, {attempt}, 1))),
              ErrorKind::register_first);
}

TEST_F(SqliteStoreTest, FindTasksByMetadataMatchesFieldAndPattern) {
    make_flow("F");
    mf::Run run = make_run("F");
    StepPath step{"F", num(run.run_number), "train"};
    make_step("F", num(run.run_number), "train");
    std::vector<Task> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(make_task("F", num(run.run_number), "train"));
    auto path_of = [&](const Task& t) {
        return TaskPath{"F", num(run.run_number), "train", num(t.task_id)};
    };
    add_metadata(path_of(tasks[2]),
                 {{.field_name = "foreach-indices", .value = "[0, 1]", .type = "x"}}, 1);
    add_metadata(path_of(tasks[0]),
                 {{.field_name = "foreach-indices", .value = "[1]", .type = "x"}}, 1);
    add_metadata(path_of(tasks[1]), {{.field_name = "other", .value = "[0]", .type = "x"}}, 1);

    auto found = ok(await(store().find_tasks_by_metadata(
        step, TaskPatternQuery{.field_name = "foreach-indices", .pattern = R"(^\[0)"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[2].task_id}));
    EXPECT_EQ(found[0].tags, R"(["team:ml"])");

    found = ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = "0"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[1].task_id, tasks[2].task_id}));

    found = ok(await(
        store().find_tasks_by_metadata(step, TaskPatternQuery{.field_name = "foreach-indices"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[0].task_id, tasks[2].task_id}));

    found = ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{})));
    EXPECT_EQ(task_ids(found),
              (std::vector<std::int64_t>{tasks[0].task_id, tasks[1].task_id, tasks[2].task_id}));

    // Case-sensitive and unanchored, POSIX extended syntax.
    found = ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = "(1|X)]$"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[0].task_id, tasks[2].task_id}));

    // PostgreSQL spellings clients send: "^(?:...)$" and \d.
    found = ok(await(
        store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = R"(^(?:\[\d\]|\[1\]))"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[0].task_id, tasks[1].task_id}));
    // Inside a bracket expression "(?:" is just characters; "[]x]" starts with a literal ].
    found = ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = "[(?:]"})));
    EXPECT_TRUE(found.empty());
    found = ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = ", []1]"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[2].task_id}));
    // As in the reference, empty parameters set no condition.
    found = ok(await(
        store().find_tasks_by_metadata(step, TaskPatternQuery{.field_name = "", .pattern = ""})));
    EXPECT_EQ(found.size(), 3u);

    // Long values (code packages, foreach stacks) are matched without exhausting the stack.
    add_metadata(path_of(tasks[3]),
                 {{.field_name = "big", .value = std::string(1 << 20, 'a') + "!", .type = "x"}}, 1);
    found =
        ok(await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = "^(a|b)*!$"})));
    EXPECT_EQ(task_ids(found), (std::vector<std::int64_t>{tasks[3].task_id}));

    auto invalid = await(store().find_tasks_by_metadata(step, TaskPatternQuery{.pattern = "(["}));
    EXPECT_EQ(error_kind(invalid), ErrorKind::invalid);
    EXPECT_EQ(invalid.error().message.rfind("invalid regular expression: ", 0), 0u);
}

// --- Artifacts ---

class SqliteArtifactTest : public SqliteStoreTest {
protected:
    SqliteArtifactTest() {
        make_flow("F");
        run_ = make_run("F", "r1");
        make_step("F", name("r1"), "start");
        make_step("F", name("r1"), "end");
        first_ = make_task("F", name("r1"), "start");
        second_ = make_task("F", name("r1"), "end", "named");
    }
    TaskPath first_path() const { return {"F", name("r1"), "start", num(first_.task_id)}; }
    TaskPath second_path() const { return {"F", num(run_.run_number), "end", name("named")}; }

    mf::Run run_;
    Task first_;
    Task second_;
};

TEST_F(SqliteArtifactTest, DuplicateArtifactsAreSkippedAndNotCounted) {
    std::vector<NewArtifact> batch = {
        {.name = "name", .location = "s3://a", .ds_type = "s3", .attempt_id = 0},
        {.name = "alpha", .location = "s3://b", .ds_type = "s3", .sha = "ab", .attempt_id = 0},
    };
    EXPECT_EQ(ok(await(store().add_artifacts(first_path(), batch, 10))), 2);
    batch.push_back({.name = "alpha", .location = "s3://c", .ds_type = "s3", .attempt_id = 1});
    EXPECT_EQ(ok(await(store().add_artifacts(first_path(), batch, 20))), 1);
    EXPECT_EQ(error_kind(await(store().add_artifacts(
                  TaskPath{"F", name("r1"), "start", num(999999)}, batch, 1))),
              ErrorKind::register_first);

    Artifact kept = ok(await(store().get_artifact(first_path(), "alpha", 0)));
    EXPECT_EQ(kept.location, "s3://b");
    EXPECT_EQ(kept.ts_epoch, 10);
    EXPECT_EQ(kept.sha, "ab");
    EXPECT_EQ(kept.type, std::nullopt);
    EXPECT_EQ(kept.run_id, "r1");
    EXPECT_EQ(kept.tags, R"(["team:ml"])");
}

TEST_F(SqliteArtifactTest, LatestAttemptFollowsTheNameArtifact) {
    add_artifact(first_path(), "name", 0, 10);
    add_artifact(first_path(), "alpha", 0, 11);
    add_artifact(first_path(), "beta", 0, 12);
    EXPECT_EQ(ok(await(store().get_artifact(first_path(), "alpha", std::nullopt))).attempt_id, 0);

    // Attempt 1 writes "name" and a new beta, but no alpha.
    add_artifact(first_path(), "name", 1, 20);
    add_artifact(first_path(), "beta", 1, 21, "s3://beta1");
    EXPECT_EQ(error_kind(await(store().get_artifact(first_path(), "alpha", std::nullopt))),
              ErrorKind::not_found);
    EXPECT_EQ(ok(await(store().get_artifact(first_path(), "alpha", 0))).location, "s3://x");
    Artifact beta = ok(await(store().get_artifact(first_path(), "beta", std::nullopt)));
    EXPECT_EQ(beta.attempt_id, 1);
    EXPECT_EQ(beta.location, "s3://beta1");
    EXPECT_EQ(error_kind(await(store().get_artifact(first_path(), "beta", 2))),
              ErrorKind::not_found);

    // Without any "name" artifact, attempt 0 is the latest.
    add_artifact(second_path(), "gamma", 0, 30);
    add_artifact(second_path(), "delta", 1, 31);
    EXPECT_EQ(ok(await(store().get_artifact(second_path(), "gamma", std::nullopt))).attempt_id, 0);
    EXPECT_EQ(error_kind(await(store().get_artifact(second_path(), "delta", std::nullopt))),
              ErrorKind::not_found);

    auto attempt0 = ok(await(store().list_attempt_artifacts(first_path(), 0)));
    EXPECT_EQ(artifact_keys(attempt0).size(), 3u);
    auto attempt1 = ok(await(store().list_attempt_artifacts(first_path(), 1)));
    std::string t = std::to_string(first_.task_id);
    EXPECT_EQ(artifact_keys(attempt1), (std::vector<std::string>{t + "/beta@1", t + "/name@1"}));
}

TEST_F(SqliteArtifactTest, LegacyListKeepsEachTasksHighestAttemptOnly) {
    add_artifact(first_path(), "name", 0, 10);
    add_artifact(first_path(), "alpha", 0, 11);
    add_artifact(first_path(), "name", 1, 20);
    add_artifact(second_path(), "gamma", 0, 15);
    std::string t1 = std::to_string(first_.task_id);
    std::string t2 = std::to_string(second_.task_id);

    auto task_list = ok(await(store().list_artifacts(
        ArtifactScope{"F", name("r1"), "start", num(first_.task_id)}, std::nullopt)));
    EXPECT_EQ(artifact_keys(task_list), (std::vector<std::string>{t1 + "/name@1"}));

    auto run_list = ok(await(store().list_artifacts(ArtifactScope{"F", name("r1")}, std::nullopt)));
    EXPECT_EQ(artifact_keys(run_list), (std::vector<std::string>{t1 + "/name@1", t2 + "/gamma@0"}));
    EXPECT_EQ(run_list[1].task_name, "named");
    EXPECT_EQ(run_list[1].tags, R"(["team:ml"])");

    auto step_list = ok(await(
        store().list_artifacts(ArtifactScope{"F", num(run_.run_number), "end"}, std::nullopt)));
    EXPECT_EQ(artifact_keys(step_list), (std::vector<std::string>{t2 + "/gamma@0"}));
}

TEST_F(SqliteArtifactTest, PagedListKeepsNewestRowPerNameAndPagesWithCursor) {
    add_artifact(first_path(), "name", 0, 10);
    add_artifact(first_path(), "alpha", 0, 11);
    add_artifact(first_path(), "name", 1, 20);
    add_artifact(second_path(), "b", 0, 20);
    add_artifact(second_path(), "a", 0, 20);
    std::string t1 = std::to_string(first_.task_id);
    std::string t2 = std::to_string(second_.task_id);

    // Paged mode still shows alpha, which exists only in attempt 0.
    const std::vector<std::string> expected = {t2 + "/b@0", t2 + "/a@0", t1 + "/name@1",
                                               t1 + "/alpha@0"};
    auto all =
        ok(await(store().list_artifacts(ArtifactScope{"F", name("r1")}, Paging{.limit = 50})));
    EXPECT_EQ(artifact_keys(all), expected);

    std::vector<std::string> paged;
    std::optional<CursorKey> cursor;
    for (int page = 0; page < 10; ++page) {
        auto rows = ok(await(store().list_artifacts(ArtifactScope{"F", name("r1")},
                                                    Paging{.limit = 1, .after = cursor})));
        ASSERT_LE(rows.size(), 2u);  // limit + 1
        if (rows.empty()) break;
        paged.push_back(artifact_keys(rows)[0]);
        if (rows.size() == 1) break;
        cursor = CursorKey{rows[0].ts_epoch, rows[0].task_id, rows[0].name};
    }
    EXPECT_EQ(paged, expected);

    auto task_page = ok(await(store().list_artifacts(
        ArtifactScope{"F", name("r1"), "start", num(first_.task_id)}, Paging{.limit = 50})));
    EXPECT_EQ(artifact_keys(task_page),
              (std::vector<std::string>{t1 + "/name@1", t1 + "/alpha@0"}));
}

// --- Paging and filters ---

TEST_F(SqliteStoreTest, PagesFollowTheDescendingKeyOrderStrictlyAfterTheCursor) {
    for (int i = 0; i < 5; ++i) make_flow("Flow" + std::to_string(i), i < 3 ? 100 : 200);
    std::vector<std::string> flow_ids;
    std::optional<CursorKey> cursor;
    for (;;) {
        auto page = ok(await(store().list_flows(Paging{.limit = 2, .after = cursor})));
        for (std::size_t i = 0; i < std::min<std::size_t>(2, page.size()); ++i)
            flow_ids.push_back(page[i].flow_id);
        if (page.size() <= 2) break;
        cursor = CursorKey{.ts_epoch = page[1].ts_epoch, .name = page[1].flow_id};
    }
    EXPECT_EQ(flow_ids, (std::vector<std::string>{"Flow4", "Flow3", "Flow2", "Flow1", "Flow0"}));

    std::vector<std::int64_t> created;
    for (int i = 0; i < 5; ++i)
        created.push_back(make_run("Flow0", std::nullopt, i % 2).run_number);
    // ts_epoch 1 first (runs 1 and 3, higher number first), then ts_epoch 0.
    std::vector<std::int64_t> expected = {created[3], created[1], created[4], created[2],
                                          created[0]};
    EXPECT_EQ(run_numbers(ok(await(store().list_runs("Flow0", RunQuery{})))), expected);
    auto page = ok(await(store().list_runs(
        "Flow0", RunQuery{.paging = Paging{.limit = 2, .after = CursorKey{1, created[1], {}}}})));
    EXPECT_EQ(run_numbers(page), (std::vector<std::int64_t>{created[4], created[2], created[0]}));

    make_step("Flow0", num(created[0]), "start");
    std::vector<std::int64_t> tasks;
    for (int i = 0; i < 4; ++i)
        tasks.push_back(
            make_task("Flow0", num(created[0]), "start", std::nullopt, 10 - i / 2).task_id);
    StepPath step{"Flow0", num(created[0]), "start"};
    auto task_page = ok(await(store().list_tasks(
        step, TaskQuery{.paging = Paging{.limit = 1, .after = CursorKey{10, tasks[1], {}}}})));
    EXPECT_EQ(task_ids(task_page), (std::vector<std::int64_t>{tasks[0], tasks[3]}));

    TaskPath task{"Flow0", num(created[0]), "start", num(tasks[0])};
    add_metadata(task, {{.field_name = "a"}, {.field_name = "b"}}, 50);
    add_metadata(task, {{.field_name = "c"}}, 40);
    auto all = ok(await(store().list_task_metadata(task, std::nullopt)));
    ASSERT_EQ(all.size(), 3u);
    auto metadata_page = ok(await(store().list_task_metadata(
        task, Paging{.limit = 5, .after = CursorKey{all[0].ts_epoch, all[0].id, {}}})));
    ASSERT_EQ(metadata_page.size(), 2u);
    EXPECT_EQ(metadata_page[0].field_name, "a");
    EXPECT_EQ(metadata_page[1].field_name, "c");
    auto run_page =
        ok(await(store().list_run_metadata(RunPath{"Flow0", num(created[0])}, Paging{.limit = 0})));
    EXPECT_EQ(run_page.size(), 1u);  // limit + 1
}

TEST_F(SqliteStoreTest, RunFiltersCombineAsSpecified) {
    make_flow("F");
    auto create = [&](OptString run_id, OptString user, std::string system_tags, std::int64_t ts) {
        return ok(await(store().create_run(NewRun{.flow_id = "F",
                                                  .run_id = std::move(run_id),
                                                  .user_name = std::move(user),
                                                  .tags = R"(["team:ml"])",
                                                  .system_tags = std::move(system_tags),
                                                  .ts_epoch = ts})))
            .run_number;
    };
    std::int64_t alice = create("argo-Alpha", "alice", R"(["user:alice","env:prod"])", 100);
    std::int64_t bob = create(std::nullopt, "bob", R"(["user:carol"])", 200);
    std::int64_t nobody = create("sfn-beta", std::nullopt, R"(["env:dev"])", 300);

    auto list = [&](std::vector<Filter> filters, std::vector<TagFilter> tag_filters = {}) {
        return run_numbers(
            ok(await(store().list_runs("F", RunQuery{.filters = std::move(filters),
                                                     .tag_filters = std::move(tag_filters),
                                                     .paging = Paging{}}))));
    };
    using V = std::vector<std::optional<std::string>>;
    using R = std::vector<std::int64_t>;
    EXPECT_EQ(list({{"user_name", FilterOp::eq, V{"alice", "bob"}}}), (R{bob, alice}));
    EXPECT_EQ(list({{"user_name", FilterOp::eq, V{std::nullopt}}}), (R{nobody}));
    EXPECT_EQ(list({{"user_name", FilterOp::ne, V{"alice"}}}), (R{bob}));
    EXPECT_EQ(list({{"ts_epoch", FilterOp::ge, V{"200"}}}), (R{nobody, bob}));
    EXPECT_EQ(list({{"ts_epoch", FilterOp::lt, V{"200"}}, {"ts_epoch", FilterOp::gt, V{"50"}}}),
              (R{alice}));
    EXPECT_EQ(list({{"run_number", FilterOp::eq, V{std::to_string(bob)}}}), (R{bob}));
    EXPECT_EQ(list({{"run_id", FilterOp::co, V{"alp"}}}), (R{alice}));  // case-insensitive
    EXPECT_EQ(list({{"run_id", FilterOp::sw, V{"SFN"}}}), (R{nobody}));
    EXPECT_EQ(list({{"run_id", FilterOp::ew, V{"ha"}}}), (R{alice}));
    EXPECT_EQ(list({{"run_id", FilterOp::li, V{"%-%"}}}), (R{nobody, alice}));
    EXPECT_EQ(list({{"run_id", FilterOp::is, V{std::nullopt}}}), (R{bob}));
    EXPECT_EQ(list({{"flow_id", FilterOp::eq, V{"F"}}, {"user_name", FilterOp::eq, V{"alice"}}}),
              (R{alice}));
    // Verified owner: bob's system tags name carol.
    EXPECT_EQ(list({{"user", FilterOp::eq, V{"alice", "bob"}}}), (R{alice}));
    EXPECT_EQ(list({{"user", FilterOp::eq, V{std::nullopt}}}), (R{nobody, bob}));
    EXPECT_EQ(list({{"system_tags", FilterOp::eq, V{R"(["env:dev"])"}}}), (R{nobody}));
    EXPECT_EQ(list({{"tags", FilterOp::eq, V{R"([ "team:ml" ])"}}}), (R{nobody, bob, alice}));

    EXPECT_EQ(list({}, {{TagFilter::Mode::all, {"team:ml", "env:prod"}}}), (R{alice}));
    EXPECT_EQ(list({}, {{TagFilter::Mode::any, {"env:prod", "env:dev"}}}), (R{nobody, alice}));
    EXPECT_EQ(list({}, {{TagFilter::Mode::all, {"env"}}}), R{});  // exact strings only
    EXPECT_EQ(list({}, {{TagFilter::Mode::likeall, {"env:", "user:"}}}), (R{alice}));
    EXPECT_EQ(list({}, {{TagFilter::Mode::likeany, {"carol", "dev"}}}), (R{nobody, bob}));
    EXPECT_EQ(list({}, {{TagFilter::Mode::likeany, {"ENV"}}}), R{});  // case-sensitive

    // A value with SQL in it is only ever data.
    EXPECT_EQ(list({{"user_name", FilterOp::eq, V{"x' OR '1'='1"}}}), R{});
}

TEST_F(SqliteStoreTest, RunStatusIsDerivedFromEndStepAndHeartbeat) {
    make_flow("F");
    auto run_with = [&](std::optional<std::int64_t> heartbeat) {
        return ok(await(store().create_run(NewRun{.flow_id = "F", .heartbeat_ts = heartbeat})))
            .run_number;
    };
    auto end_records = [&](std::int64_t run,
                           std::vector<std::pair<std::string, std::string>> fields,
                           std::vector<std::int64_t> times) {
        make_step("F", num(run), "end");
        Task task = make_task("F", num(run), "end");
        for (std::size_t i = 0; i < fields.size(); ++i) {
            add_metadata(TaskPath{"F", num(run), "end", num(task.task_id)},
                         {{.field_name = fields[i].first, .value = fields[i].second, .type = "t"}},
                         times[i]);
        }
    };
    std::int64_t completed = run_with(std::nullopt);
    end_records(completed, {{"attempt", "0"}, {"attempt_ok", "True"}}, {10, 20});
    std::int64_t retrying = run_with(std::nullopt);
    end_records(retrying, {{"attempt_ok", "false"}, {"attempt", "1"}}, {10, 20});
    std::int64_t failed = run_with(kNow);
    end_records(failed, {{"attempt", "0"}, {"attempt_ok", " f "}}, {10, 20});
    std::int64_t alive = run_with(kNow - 360);
    std::int64_t stale = run_with(kNow - 361);
    std::int64_t silent = run_with(std::nullopt);

    auto statuses = ok(await(store().list_runs("F", RunQuery{.with_status = true})));
    std::map<std::int64_t, std::optional<RunStatus>> by_run;
    for (const auto& run : statuses) by_run[run.run_number] = run.status;
    EXPECT_EQ(by_run[completed], RunStatus::completed);
    EXPECT_EQ(by_run[retrying], RunStatus::running);
    EXPECT_EQ(by_run[failed], RunStatus::failed);
    EXPECT_EQ(by_run[alive], RunStatus::running);
    EXPECT_EQ(by_run[stale], RunStatus::failed);
    EXPECT_EQ(by_run[silent], RunStatus::failed);

    auto running = ok(await(store().list_runs(
        "F", RunQuery{.filters = {{"status", FilterOp::eq, {"running"}}}, .with_status = true})));
    EXPECT_EQ(run_numbers(running), (std::vector<std::int64_t>{alive, retrying}));
    EXPECT_EQ(running[0].status, RunStatus::running);

    // Without with_status, no status is computed.
    EXPECT_EQ(ok(await(store().list_runs("F", RunQuery{})))[0].status, std::nullopt);

    // The clock moves: the recent heartbeat goes stale.
    clock_.set_ms((kNow + 100) * 1000);
    running = ok(await(store().list_runs(
        "F", RunQuery{.filters = {{"status", FilterOp::eq, {"running"}}}, .with_status = true})));
    EXPECT_EQ(run_numbers(running), (std::vector<std::int64_t>{retrying}));
}

TEST_F(SqliteStoreTest, TaskFiltersApplyToTaskColumns) {
    make_flow("F");
    mf::Run run = make_run("F");
    StepPath step{"F", num(run.run_number), "start"};
    make_step("F", num(run.run_number), "start");
    Task a = ok(await(store().create_task(
        step, NewTask{.task_name = "alpha", .user_name = "ann", .ts_epoch = 1})));
    Task b = ok(await(
        store().create_task(step, NewTask{.user_name = "ben", .ts_epoch = 2, .heartbeat_ts = 50})));
    auto list = [&](std::vector<Filter> filters) {
        return task_ids(
            ok(await(store().list_tasks(step, TaskQuery{.filters = std::move(filters)}))));
    };
    using V = std::vector<std::optional<std::string>>;
    using T = std::vector<std::int64_t>;
    EXPECT_EQ(list({}), (T{b.task_id, a.task_id}));
    EXPECT_EQ(list({{"task_name", FilterOp::eq, V{std::nullopt}}}), (T{b.task_id}));
    EXPECT_EQ(list({{"task_name", FilterOp::sw, V{"AL"}}}), (T{a.task_id}));
    EXPECT_EQ(list({{"user_name", FilterOp::ne, V{"ann"}}}), (T{b.task_id}));
    EXPECT_EQ(list({{"task_id", FilterOp::eq, V{std::to_string(a.task_id)}}}), (T{a.task_id}));
    EXPECT_EQ(list({{"last_heartbeat_ts", FilterOp::ge, V{"50"}}}), (T{b.task_id}));
    EXPECT_EQ(list({{"ts_epoch", FilterOp::le, V{"1"}}}), (T{a.task_id}));
    EXPECT_EQ(error_kind(await(store().list_tasks(
                  step, TaskQuery{.filters = {{"tags", FilterOp::eq, V{"[]"}}}}))),
              ErrorKind::invalid);
}

// --- Errors, health, files ---

TEST_F(SqliteStoreTest, HealthCheckSucceeds) {
    EXPECT_TRUE(await(store().check_health()).ok());
}

TEST_F(SqliteStoreTest, WriteLockedByAnotherProcessIsUnavailable) {
    store_.reset();
    store_ = open_sqlite_store(SqliteOptions{.path = path(), .busy_timeout_ms = 50});
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    auto blocked = await(store().create_flow(NewFlow{.flow_id = "F"}));
    EXPECT_EQ(error_kind(blocked), ErrorKind::unavailable);
    EXPECT_EQ(error_kind(await(store().check_health())), ErrorKind::unavailable);
    // Reads go on while another process writes.
    EXPECT_EQ(error_kind(await(store().get_flow("F"))), ErrorKind::not_found);
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    EXPECT_TRUE(await(store().create_flow(NewFlow{.flow_id = "F"})).ok());
}

TEST(SqliteErrorMappingTest, ResultCodesMapToErrorKinds) {
    using sqlite::SqliteError;
    using sqlite::to_error;
    EXPECT_EQ(to_error(SqliteError(SQLITE_FULL, "x")).kind, ErrorKind::storage_full);
    EXPECT_EQ(to_error(SqliteError(SQLITE_BUSY, "x")).kind, ErrorKind::unavailable);
    EXPECT_EQ(to_error(SqliteError(SQLITE_LOCKED, "x")).kind, ErrorKind::unavailable);
    EXPECT_EQ(to_error(SqliteError(SQLITE_IOERR_FSYNC, "x")).kind, ErrorKind::unavailable);
    EXPECT_EQ(to_error(SqliteError(SQLITE_CANTOPEN, "x")).kind, ErrorKind::unavailable);
    EXPECT_EQ(to_error(SqliteError(SQLITE_CONSTRAINT_UNIQUE, "x")).kind, ErrorKind::already_exists);
    EXPECT_EQ(to_error(SqliteError(SQLITE_CONSTRAINT_PRIMARYKEY, "x")).kind,
              ErrorKind::already_exists);
    EXPECT_EQ(to_error(SqliteError(SQLITE_CONSTRAINT_NOTNULL, "x")).kind, ErrorKind::internal);
    Error corrupt = to_error(SqliteError(SQLITE_CORRUPT, "SELECT secret FROM t"));
    EXPECT_EQ(corrupt.kind, ErrorKind::internal);
    EXPECT_EQ(corrupt.message.find("SELECT"), std::string::npos);  // no SQL for clients
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndAppliesNoMigrationTwice) {
    make_flow("F");
    mf::Run run = make_run("F");
    open();
    open();
    EXPECT_EQ(ok(await(store().get_run(RunPath{"F", num(run.run_number)}))).run_number,
              run.run_number);
    // Numbers are never reused after a reopen.
    EXPECT_GT(make_run("F").run_number, run.run_number);
    sqlite::Connection db(path(), sqlite::Connection::Access::read_only, 1000);
    sqlite::Statement version = db.prepare("PRAGMA user_version");
    ASSERT_TRUE(version.step());
    EXPECT_EQ(version.int64(0), sqlite::latest_schema_version());
}

TEST_F(SqliteStoreTest, NewerSchemaOrBadFileIsRefusedWithAClearMessage) {
    store_.reset();
    {
        sqlite::Connection db(path(), sqlite::Connection::Access::read_write, 1000);
        db.execute_script("PRAGMA user_version = 999");
    }
    try {
        open_sqlite_store(SqliteOptions{.path = path()});
        FAIL() << "a newer schema was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("schema version 999 is newer"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(open_sqlite_store(SqliteOptions{.path = dir_.file("no/such/dir/x.db")}),
                 std::runtime_error);
}

// Every statement the store compiles, explained: each main-table access must search an
// index. Only the unfiltered flow list may walk a whole (index of a) table.
TEST_F(SqliteStoreTest, EveryStatementUsesAnIndex) {
    std::mutex mutex;
    std::set<std::string> statements;
    sqlite::set_statement_observer([&](const std::string& sql) {
        std::lock_guard lock(mutex);
        statements.insert(sql);
    });
    store_.reset();  // new connections, so that every statement is compiled while observed
    open();

    make_flow("F");
    mf::Run run = make_run("F", "r1");
    make_step("F", name("r1"), "start");
    Task task = make_task("F", name("r1"), "start", "t1");
    ok(await(store().create_task(StepPath{"F", num(run.run_number), "start"},
                                 NewTask{.heartbeat_ts = kNow})));
    for (const ObjectKey& run_key : {num(run.run_number), name("r1")}) {
        for (const ObjectKey& task_key : {num(task.task_id), name("t1")}) {
            TaskPath t{"F", run_key, "start", task_key};
            add_metadata(t, {{.field_name = "attempt_ok", .value = "true"}}, 1);
            add_artifact(t, "name", 0, 1);
            ok(await(store().get_task(t)));
            ok(await(store().heartbeat_task(t, kNow)));
            ok(await(store().list_task_metadata(t, std::nullopt)));
            ok(await(store().list_task_metadata(t, Paging{.after = CursorKey{1, 1, {}}})));
            ok(await(store().get_artifact(t, "name", std::nullopt)));
            ok(await(store().get_artifact(t, "name", 0)));
            ok(await(store().list_attempt_artifacts(t, 0)));
            for (const auto& paging :
                 {std::optional<Paging>{}, std::optional<Paging>{Paging{}},
                  std::optional<Paging>{Paging{.after = CursorKey{1, 1, "a"}}}}) {
                ok(await(store().list_artifacts(ArtifactScope{"F", run_key, "start", task_key},
                                                paging)));
            }
        }
        RunPath r{"F", run_key};
        StepPath s{"F", run_key, "start"};
        ok(await(store().get_run(r)));
        ok(await(store().heartbeat_run(r, kNow)));
        ok(await(store().mutate_run_tags(r, TagMutation{.add = {"x"}})));
        ok(await(store().get_step(s)));
        ok(await(store().list_steps(r)));
        ok(await(store().list_tasks(s, TaskQuery{})));
        ok(await(store().list_tasks(s, TaskQuery{.filters = {{"user_name", FilterOp::eq, {"a"}}},
                                                 .paging = Paging{.after = CursorKey{1, 1, {}}}})));
        ok(await(store().find_tasks_by_metadata(s, TaskPatternQuery{})));
        ok(await(store().find_tasks_by_metadata(
            s, TaskPatternQuery{.field_name = "attempt_ok", .pattern = "t"})));
        ok(await(store().list_run_metadata(r, std::nullopt)));
        ok(await(store().list_run_metadata(r, Paging{.after = CursorKey{1, 1, {}}})));
        for (const auto& paging : {std::optional<Paging>{}, std::optional<Paging>{Paging{}},
                                   std::optional<Paging>{Paging{.after = CursorKey{1, 1, "a"}}}}) {
            ok(await(store().list_artifacts(ArtifactScope{"F", run_key}, paging)));
            ok(await(store().list_artifacts(ArtifactScope{"F", run_key, "start"}, paging)));
        }
    }
    ok(await(store().get_flow("F")));
    ok(await(store().list_flows(std::nullopt)));
    ok(await(store().list_flows(Paging{.after = CursorKey{1, 0, "F"}})));
    ok(await(store().list_runs("F", RunQuery{})));
    ok(await(store().list_runs("F", RunQuery{.filters = {{"status", FilterOp::eq, {"running"}},
                                                         {"user", FilterOp::eq, {"alice"}},
                                                         {"ts_epoch", FilterOp::ge, {"1"}}},
                                             .tag_filters = {{TagFilter::Mode::all, {"a"}},
                                                             {TagFilter::Mode::likeany, {"b"}}},
                                             .with_status = true,
                                             .paging = Paging{.after = CursorKey{1, 1, {}}}})));
    sqlite::set_statement_observer(nullptr);

    sqlite::Connection db(path(), sqlite::Connection::Access::read_only, 1000);
    std::size_t explained = 0;
    for (const std::string& sql : statements) {
        if (sql.rfind("SELECT", 0) != 0 && sql.rfind("UPDATE", 0) != 0 &&
            sql.rfind("INSERT", 0) != 0)
            continue;
        ++explained;
        sqlite::Statement plan = db.prepare("EXPLAIN QUERY PLAN " + sql);
        std::string plan_text;
        bool bad = false;
        while (plan.step()) {
            std::string detail = plan.text(3);
            plan_text += detail + "\n";
            if (detail.rfind("SCAN ", 0) != 0) continue;
            const std::string scanned = detail.substr(5, detail.find(' ', 5) - 5);
            if (scanned == "json_each" || scanned == "CONSTANT") continue;
            const bool walks_index = detail.find("USING INDEX") != std::string::npos ||
                                     detail.find("USING COVERING INDEX") != std::string::npos;
            if (scanned == "f" && walks_index) continue;
            bad = true;
        }
        EXPECT_FALSE(bad) << sql << "\n" << plan_text;
    }
    EXPECT_GT(explained, 30u);
}

// The writer's batches, tested directly: jobs report success only when their writes were
// committed, including when the disk fills up in the middle of a batch.
TEST(SqliteWriterTest, ReportsSuccessOnlyForCommittedWrites) {
    TempDir dir;
    const std::string path = dir.file("writer.db");
    auto connection =
        std::make_unique<sqlite::Connection>(path, sqlite::Connection::Access::read_write, 1000);
    connection->execute_script(
        "PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT);"
        "INSERT INTO items VALUES (1000, 'taken');");
    std::int64_t page_count = 0;
    {
        sqlite::Statement pages = connection->prepare("PRAGMA page_count");
        pages.step();
        page_count = pages.int64(0);
    }
    // Leave room for a few small rows only.
    connection->execute_script(
        ("PRAGMA max_page_count = " + std::to_string(page_count + 3)).c_str());
    {
        sqlite::Writer writer(std::move(connection));
        std::vector<Async<std::int64_t>> jobs;
        for (int i = 0; i < 40; ++i) {
            const std::size_t size = i % 7 == 3 ? 20000 : 10;
            jobs.push_back(writer.submit<std::int64_t>([i, size](sqlite::Connection& db) {
                db.prepare("INSERT INTO items (id, payload) VALUES (?1, ?2)")
                    .bind(1, std::int64_t{i})
                    .bind(2, std::string(size, 'x'))
                    .run();
                return Result<std::int64_t>(std::int64_t{i});
            }));
        }
        // A job's own failure (here a duplicate key) does not fail its batch.
        jobs.push_back(
            writer.submit<std::int64_t>([](sqlite::Connection& db) -> Result<std::int64_t> {
                db.prepare("INSERT INTO items (id, payload) VALUES (1000, 'dup')").run();
                return std::int64_t{-1};
            }));
        auto results = await_all(std::move(jobs));

        sqlite::Connection reader(path, sqlite::Connection::Access::read_only, 1000);
        std::set<std::int64_t> stored;
        sqlite::Statement rows = reader.prepare("SELECT id FROM items");
        while (rows.step()) stored.insert(rows.int64(0));

        std::size_t succeeded = 0;
        std::size_t full = 0;
        for (int i = 0; i < 40; ++i) {
            if (results[i].ok()) {
                ++succeeded;
                EXPECT_TRUE(stored.count(i)) << "job " << i << " reported success but is missing";
            } else {
                EXPECT_FALSE(stored.count(i)) << "job " << i << " failed but was written";
                if (results[i].error().kind == ErrorKind::storage_full) ++full;
            }
        }
        EXPECT_GT(succeeded, 0u);
        EXPECT_GT(full, 0u);
        EXPECT_EQ(error_kind(results[40]), ErrorKind::already_exists);
    }
}

}  // namespace
}  // namespace mf
