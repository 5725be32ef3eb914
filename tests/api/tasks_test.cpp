// The task routes: the task list (legacy, paginated, filtered), filtered_tasks,
// single task reads, task creation and task heartbeats.

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kT0s = kT0 / 1000;

class ApiTasks : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();

    void SetUp() override {
        at(kT0);
        create_flow(client, "HelloFlow");
        create_run(client, "HelloFlow");  // run 1, heartbeat kT0s
        create_step(client, "HelloFlow", "1", "start");
    }
    void at(std::int64_t ms) { server.clock().set_ms(ms); }
    json::value run_heartbeat(const std::string& run = "1") {
        return get_object(client, run_url("HelloFlow", run))["last_heartbeat_ts"];
    }
    using Ids = std::vector<std::string>;
};

// ---------------------------------------------------------------------------------------
// POST .../steps/{step_name}/task

TEST_F(ApiTasks, CreateReturnsTheTaskWithRunTags) {
    at(kT0 + 2000);
    auto r = client.post("/flows/HelloFlow/runs/1/steps/start/task", json::serialize(task_body()));
    expect_ok_json(r);
    auto task = object_of(r);
    expect_keys(task, kTaskKeys);
    EXPECT_EQ(task["flow_id"], "HelloFlow");
    EXPECT_EQ(task["run_number"], 1);  // a number, unlike a step's
    EXPECT_EQ(task["step_name"], "start");
    EXPECT_EQ(task["task_id"], 1);
    EXPECT_EQ(task["user_name"], "alice");
    EXPECT_EQ(task["ts_epoch"], kT0 + 2000);
    EXPECT_EQ(task["tags"], json::value(json::array{"team:ml"}));
    EXPECT_EQ(task["system_tags"], json::value(run_system_tags()));
    EXPECT_EQ(task["last_heartbeat_ts"], kT0s + 2);
    EXPECT_EQ(rows_in(server, "tasks_v3"), 1);
}

TEST_F(ApiTasks, CreateWithoutFieldsStoresNulls) {
    auto task = create_task(client, "HelloFlow", "1", "start", {});
    EXPECT_TRUE(task["user_name"].is_null());
    // Missing system tags: heartbeat-capable (docs/api.md#heartbeats).
    EXPECT_EQ(task["last_heartbeat_ts"], kT0s);
}

TEST_F(ApiTasks, TaskIdsComeFromOneGlobalSequence) {
    create_step(client, "HelloFlow", "1", "end");
    create_flow(client, "OtherFlow");
    create_run(client, "OtherFlow");  // run 2
    create_step(client, "OtherFlow", "2", "start");
    EXPECT_EQ(create_task(client, "HelloFlow", "1", "start")["task_id"], 1);
    EXPECT_EQ(create_task(client, "OtherFlow", "2", "start")["task_id"], 2);
    EXPECT_EQ(create_task(client, "HelloFlow", "1", "end")["task_id"], 3);
    EXPECT_EQ(create_task(client, "HelloFlow", "1", "start")["task_id"], 4);
}

TEST_F(ApiTasks, NamedTaskIsExposedAndReachableBothWays) {
    auto task = create_task(client, "HelloFlow", "1", "start", task_body("t-9f2c"));
    EXPECT_EQ(task["task_id"], "t-9f2c");
    EXPECT_EQ(task["run_number"], 1);
    for (const char* key : {"t-9f2c", "1"}) {
        auto read = get_object(client, task_url("HelloFlow", "1", "start", key));
        EXPECT_EQ(read["task_id"], "t-9f2c") << key;
        EXPECT_EQ(read, task) << key;
    }
}

TEST_F(ApiTasks, TaskOfAStringIdRunShowsTheRunId) {
    create_run(client, "HelloFlow", run_body("argo-helloflow-x7k2p"));  // run 2
    create_step(client, "HelloFlow", "argo-helloflow-x7k2p", "start");
    auto named =
        create_task(client, "HelloFlow", "argo-helloflow-x7k2p", "start", task_body("t-9f2c"));
    EXPECT_EQ(named["run_number"], "argo-helloflow-x7k2p");
    EXPECT_EQ(named["task_id"], "t-9f2c");
    auto numbered = create_task(client, "HelloFlow", "2", "start");
    EXPECT_EQ(numbered["run_number"], "argo-helloflow-x7k2p");
    EXPECT_EQ(numbered["task_id"], 2);
    EXPECT_EQ(get_object(client, task_url("HelloFlow", "2", "start", "2"))["run_number"],
              "argo-helloflow-x7k2p");
}

TEST_F(ApiTasks, DuplicateTaskNameIs409) {
    create_task(client, "HelloFlow", "1", "start", task_body("t-1"));
    auto r =
        client.post("/flows/HelloFlow/runs/1/steps/start/task", json::serialize(task_body("t-1")));
    expect_db_error(r, 409);
    expect_version_header(r);
    EXPECT_EQ(rows_in(server, "tasks_v3"), 1);
}

TEST_F(ApiTasks, SameTaskNameInAnotherStepIsFine) {
    create_step(client, "HelloFlow", "1", "end");
    create_task(client, "HelloFlow", "1", "start", task_body("t-1"));
    auto task = create_task(client, "HelloFlow", "1", "end", task_body("t-1"));
    EXPECT_EQ(task["task_id"], "t-1");
    EXPECT_EQ(get_object(client, task_url("HelloFlow", "1", "end", "t-1"))["step_name"], "end");
    EXPECT_EQ(get_object(client, task_url("HelloFlow", "1", "start", "t-1"))["step_name"], "start");
}

TEST_F(ApiTasks, TaskWithoutIdIsNewEveryTime) {
    auto first = create_task(client, "HelloFlow", "1", "start");
    auto second = create_task(client, "HelloFlow", "1", "start");
    EXPECT_NE(first["task_id"], second["task_id"]);
    EXPECT_EQ(rows_in(server, "tasks_v3"), 2);
}

TEST_F(ApiTasks, ConcurrentCreatesGetDistinctIds) {
    std::mutex mutex;
    std::vector<std::string> ids;
    run_concurrently(server, 4, [&](int, HttpClient& c) {
        for (int j = 0; j < 10; ++j) {
            auto r =
                c.post("/flows/HelloFlow/runs/1/steps/start/task", json::serialize(task_body()));
            EXPECT_EQ(r.status, 200u) << r.body;
            auto task = object_of(r);
            std::lock_guard lock(mutex);
            ids.push_back(id_text(task["task_id"]));
        }
    });
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 40u);
    for (int n = 1; n <= 40; ++n) EXPECT_EQ(unique.count(std::to_string(n)), 1u) << n;
}

TEST_F(ApiTasks, ConcurrentCreatesOfOneNameGiveOneTask) {
    std::mutex mutex;
    std::vector<unsigned> statuses;
    run_concurrently(server, 4, [&](int, HttpClient& c) {
        auto r = c.post("/flows/HelloFlow/runs/1/steps/start/task",
                        json::serialize(task_body("t-race")));
        std::lock_guard lock(mutex);
        statuses.push_back(r.status);
    });
    std::sort(statuses.begin(), statuses.end());
    EXPECT_EQ(statuses, (std::vector<unsigned>{200, 409, 409, 409}));
    EXPECT_EQ(rows_in(server, "tasks_v3"), 1);
}

TEST_F(ApiTasks, CreateUnderMissingStepRunOrFlowIs404) {
    for (const char* url :
         {"/flows/HelloFlow/runs/1/steps/end/task", "/flows/HelloFlow/runs/2/steps/start/task",
          "/flows/HelloFlow/runs/no-such-run/steps/start/task",
          "/flows/NoSuchFlow/runs/1/steps/start/task"}) {
        auto r = client.post(url, json::serialize(task_body()));
        expect_db_error(r, 404);
        expect_version_header(r);
    }
    EXPECT_EQ(rows_in(server, "tasks_v3"), 0);
}

// ---------------------------------------------------------------------------------------
// GET .../tasks/{task_id}

TEST_F(ApiTasks, GetReturnsTheStoredTask) {
    at(kT0 + 3000);
    auto created = create_task(client, "HelloFlow", "1", "start");
    at(kT0 + 5000);
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start/tasks/1");
    expect_ok_json(r);
    auto task = object_of(r);
    expect_keys(task, kTaskKeys);
    EXPECT_EQ(task, created);
}

TEST_F(ApiTasks, GetMissingTaskIs404) {
    create_step(client, "HelloFlow", "1", "end");
    create_task(client, "HelloFlow", "1", "start", task_body("t-1"));  // task 1
    for (const char* url : {"/flows/HelloFlow/runs/1/steps/start/tasks/2",
                            "/flows/HelloFlow/runs/1/steps/start/tasks/t-2",
                            "/flows/HelloFlow/runs/1/steps/end/tasks/1",
                            "/flows/HelloFlow/runs/2/steps/start/tasks/1",
                            "/flows/OtherFlow/runs/1/steps/start/tasks/1",
                            "/flows/HelloFlow/runs/1/steps/start/tasks/99999999999999999999999"}) {
        expect_not_found(client.get(url));
    }
}

// ---------------------------------------------------------------------------------------
// GET .../steps/{step_name}/tasks

TEST_F(ApiTasks, LegacyListHasTheTasksOfThatStepOnly) {
    create_step(client, "HelloFlow", "1", "end");
    for (int i = 0; i < 55; ++i) {
        at(kT0 + i);
        create_task(client, "HelloFlow", "1", "start");
    }
    create_task(client, "HelloFlow", "1", "end");
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start/tasks");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto tasks = array_of(r);
    ASSERT_EQ(tasks.size(), 55u);
    auto ids = column(tasks, "task_id");
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 55u);
    EXPECT_EQ(unique.count("56"), 0u);
    for (const auto& task : tasks) {
        expect_keys(task.as_object(), kTaskKeys);
        EXPECT_EQ(task.as_object().at("tags"), json::value(json::array{"team:ml"}));
    }
}

TEST_F(ApiTasks, ListIsEmptyForMissingParents) {
    for (const char* url :
         {"/flows/HelloFlow/runs/1/steps/start/tasks", "/flows/HelloFlow/runs/1/steps/end/tasks",
          "/flows/HelloFlow/runs/5/steps/start/tasks",
          "/flows/NoSuchFlow/runs/1/steps/start/tasks"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        expect_legacy_list(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
}

TEST_F(ApiTasks, PaginatedListWalksEveryTaskOnceNewestFirst) {
    create_step(client, "HelloFlow", "1", "end");
    std::vector<std::pair<std::int64_t, std::int64_t>> keys;
    for (int i = 0; i < 8; ++i) {
        std::int64_t ts = kT0 + (i % 3);  // ties broken by task id
        at(ts);
        auto id = create_task(client, "HelloFlow", "1", "start",
                              i == 4 ? task_body("named") : task_body())["task_id"];
        keys.emplace_back(ts, 2 * i + 1);
        create_task(client, "HelloFlow", "1", "end");
        if (i != 4) {
            EXPECT_EQ(id, 2 * i + 1);
        }
    }
    std::sort(keys.rbegin(), keys.rend());
    Ids expected;
    for (auto& [ts, id] : keys) expected.push_back(id == 9 ? "named" : std::to_string(id));
    auto walk = walk_pages(client, "/flows/HelloFlow/runs/1/steps/start/tasks", 3);
    EXPECT_EQ(walk.pages, 3);
    EXPECT_EQ(column(walk.rows, "task_id"), expected);
    // The cursor carries the numeric task id even for a named task.
    for (const auto& cursor : walk.cursors) {
        auto key = cursor_json(cursor);
        EXPECT_EQ(keys_of(key), (std::vector<std::string>{"ts_epoch", "task_id"}));
        EXPECT_TRUE(key["task_id"].is_int64()) << cursor;
    }
}

TEST_F(ApiTasks, LimitZeroAndCap) {
    create_task(client, "HelloFlow", "1", "start");
    auto zero = client.get("/flows/HelloFlow/runs/1/steps/start/tasks?_limit=0");
    expect_ok_json(zero);
    EXPECT_EQ(zero.body, "[]");
    EXPECT_EQ(zero.header("x-limit"), "0");
    EXPECT_FALSE(zero.has_header("x-next-cursor"));
    auto big = client.get("/flows/HelloFlow/runs/1/steps/start/tasks?_limit=9999");
    EXPECT_EQ(big.header("x-limit"), "500");
}

class ApiTaskFilters : public ApiTasks {
protected:
    void SetUp() override {
        ApiTasks::SetUp();
        at(kT0 + 1000);
        create_task(client, "HelloFlow", "1", "start", task_body());  // 1
        at(kT0 + 2000);
        create_task(client, "HelloFlow", "1", "start", task_body("t-two"));  // 2
        at(kT0 + 3000);
        auto bob = task_body("t-three", "2.0");  // 3, no heartbeat
        bob["user_name"] = "bob";
        create_task(client, "HelloFlow", "1", "start", bob);
        create_step(client, "HelloFlow", "1", "end");
        create_task(client, "HelloFlow", "1", "end", bob);  // 4, another step
    }
    Ids tasks(const std::string& query) {
        auto r = client.get("/flows/HelloFlow/runs/1/steps/start/tasks?" + query);
        EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
        EXPECT_EQ(r.header("x-limit"), "50") << query;
        expect_version_header(r);
        return column(array_of(r), "task_id");
    }
};

TEST_F(ApiTaskFilters, ByUserName) {
    EXPECT_EQ(tasks("user_name=bob"), (Ids{"t-three"}));
    EXPECT_EQ(tasks("user_name:ne=bob"), (Ids{"t-two", "1"}));
    EXPECT_EQ(tasks("user_name:sw=AL"), (Ids{"t-two", "1"}));
}

TEST_F(ApiTaskFilters, ByTaskNameAndId) {
    EXPECT_EQ(tasks("task_name=t-two"), (Ids{"t-two"}));
    EXPECT_EQ(tasks("task_name=null"), (Ids{"1"}));
    EXPECT_EQ(tasks("task_name:co=t"), (Ids{"t-three", "t-two"}));
    EXPECT_EQ(tasks("task_id:gt=1"), (Ids{"t-three", "t-two"}));
    EXPECT_EQ(tasks("task_id=1,3"), (Ids{"t-three", "1"}));
}

TEST_F(ApiTaskFilters, ByTimes) {
    EXPECT_EQ(tasks("ts_epoch:lt=" + std::to_string(kT0 + 3000)), (Ids{"t-two", "1"}));
    EXPECT_EQ(tasks("ts_epoch:ge=" + std::to_string(kT0 + 2000) +
                    "&ts_epoch:le=" + std::to_string(kT0 + 2000)),
              (Ids{"t-two"}));
    EXPECT_EQ(tasks("last_heartbeat_ts=null"), (Ids{"t-three"}));
    EXPECT_EQ(tasks("last_heartbeat_ts=" + std::to_string(kT0s + 1)), (Ids{"1"}));
}

TEST_F(ApiTaskFilters, RunFieldsAreNotTaskFilters) {
    // tags, status and user are run-only fields: ignored here, so no paging either.
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start/tasks?status=bogus&tags=x&user=z");
    expect_ok_json(r);
    expect_legacy_list(r);
    EXPECT_EQ(array_of(r).size(), 3u);
}

TEST_F(ApiTaskFilters, FilterWithLimitAndCursor) {
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start/tasks?user_name=alice&_limit=1");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "1");
    EXPECT_EQ(column(array_of(r), "task_id"), (Ids{"t-two"}));
    ASSERT_TRUE(r.has_header("x-next-cursor"));
    auto next =
        client.get("/flows/HelloFlow/runs/1/steps/start/tasks?user_name=alice&_limit=1&_cursor=" +
                   url_encode(r.header("x-next-cursor")));
    EXPECT_EQ(column(array_of(next), "task_id"), (Ids{"1"}));
    EXPECT_FALSE(next.has_header("x-next-cursor"));
}

// ---------------------------------------------------------------------------------------
// GET .../steps/{step_name}/filtered_tasks (docs/api.md#filtered-tasks)

class ApiFilteredTasks : public ApiTasks {
protected:
    // The records the Metaflow client writes for foreach tasks.
    TaskRef task_with(const std::string& step, const json::array& records,
                      std::optional<std::string> name = std::nullopt) {
        TaskRef task{"HelloFlow", "1", step,
                     new_task(client, "HelloFlow", "1", step, task_body(name))};
        if (!records.empty()) {
            EXPECT_EQ(post_metadata(client, task, records),
                      static_cast<std::int64_t>(records.size()));
        }
        return task;
    }
    static json::object path(const std::string& value) {
        return metadata_item("foreach-execution-path", json::string(value),
                             "foreach-execution-path");
    }
    json::array filtered(const std::string& step, const std::string& query = "") {
        auto r = client.get("/flows/HelloFlow/runs/1/steps/" + step + "/filtered_tasks" +
                            (query.empty() ? "" : "?" + query));
        expect_ok_json(r);
        expect_legacy_list(r);
        return array_of(r);
    }
    static json::array paths(std::initializer_list<std::string> tasks, const std::string& step) {
        json::array out;
        for (const auto& task : tasks) out.emplace_back("HelloFlow/1/" + step + "/" + task);
        return out;
    }
};

TEST_F(ApiFilteredTasks, PatternMustMatchTheWholeValue) {
    create_step(client, "HelloFlow", "1", "outer");
    task_with("outer", {path("outer:0")});   // 1
    task_with("outer", {path("outer:1")});   // 2
    task_with("outer", {path("outer:10")});  // 3
    EXPECT_EQ(filtered("outer", "metadata_field_name=foreach-execution-path&pattern=outer:1"),
              paths({"2"}, "outer"));
    EXPECT_EQ(filtered("outer", "metadata_field_name=foreach-execution-path&pattern=outer:0"),
              paths({"1"}, "outer"));
    EXPECT_EQ(filtered("outer", "pattern=outer:1.*"), paths({"2", "3"}, "outer"));
    EXPECT_EQ(filtered("outer", "pattern=uter:1"), json::array{});
}

TEST_F(ApiFilteredTasks, NestedForeachPatternWithWildcard) {
    create_step(client, "HelloFlow", "1", "inner");
    task_with("inner", {path("outer:0,inner:0")});   // 1
    task_with("inner", {path("outer:0,inner:1")});   // 2
    task_with("inner", {path("outer:1,inner:0")});   // 3
    task_with("inner", {path("outer:1,inner:1")});   // 4
    task_with("inner", {path("outer:10,inner:0")});  // 5
    const std::string query = "metadata_field_name=foreach-execution-path&pattern=";
    EXPECT_EQ(filtered("inner", query + url_encode("outer:1,.*")), paths({"3", "4"}, "inner"));
    EXPECT_EQ(filtered("inner", query + url_encode("outer:0,.*")), paths({"1", "2"}, "inner"));
    EXPECT_EQ(filtered("inner", query + url_encode("outer:1,inner:1")), paths({"4"}, "inner"));
}

TEST_F(ApiFilteredTasks, ClientAnchoredNonCapturingPatternWorks) {
    // Newer Metaflow clients anchor the pattern themselves: "^(?:%s)$".
    create_step(client, "HelloFlow", "1", "outer");
    task_with("outer", {path("outer:1")});   // 1
    task_with("outer", {path("outer:10")});  // 2
    auto rows = filtered("outer", "metadata_field_name=foreach-execution-path&pattern=" +
                                      url_encode("^(?:outer:1)$"));
    EXPECT_EQ(rows, paths({"1"}, "outer"));
}

TEST_F(ApiFilteredTasks, FieldNameAloneSelectsTasksInIdOrder) {
    create_step(client, "HelloFlow", "1", "body");
    task_with("body", {path("a")});                                                   // 1
    task_with("body", {metadata_item("other", "x", "other")});                        // 2
    task_with("body", {path("b"), path("c"), metadata_item("other", "y", "other")});  // 3
    task_with("body", {});  // 4: no metadata
    EXPECT_EQ(filtered("body", "metadata_field_name=foreach-execution-path"),
              paths({"1", "3"}, "body"));  // distinct: task 3 once
    EXPECT_EQ(filtered("body", "metadata_field_name=other"), paths({"2", "3"}, "body"));
    // Neither condition: every task with any metadata; never task 4.
    EXPECT_EQ(filtered("body"), paths({"1", "2", "3"}, "body"));
    EXPECT_EQ(filtered("body", "metadata_field_name=nothing"), json::array{});
}

TEST_F(ApiFilteredTasks, PatternAndFieldNameMustMatchTheSameRecord) {
    create_step(client, "HelloFlow", "1", "body");
    // Task 1 has field "a" with "x" and field "b" with "y": no record has a=y.
    task_with("body", {metadata_item("a", "x", "t"), metadata_item("b", "y", "t")});
    task_with("body", {metadata_item("a", "y", "t")});  // 2
    EXPECT_EQ(filtered("body", "metadata_field_name=a&pattern=y"), paths({"2"}, "body"));
}

TEST_F(ApiFilteredTasks, OrderedByNumericTaskId) {
    create_step(client, "HelloFlow", "1", "body");
    // Ten tasks, so that ids 10 > 9 must not sort as text; metadata posted newest-last in
    // reverse id order.
    std::vector<TaskRef> refs;
    for (int i = 0; i < 10; ++i) refs.push_back(task_with("body", {}));
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
        at(server.clock().now_ms() + 1);
        EXPECT_EQ(post_metadata(client, *it, json::array{path("p")}), 1);
    }
    EXPECT_EQ(filtered("body", "pattern=p"),
              paths({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, "body"));
}

TEST_F(ApiFilteredTasks, PathspecsUseTheStringIds) {
    create_run(client, "HelloFlow", run_body("argo-x"));  // run 2
    create_step(client, "HelloFlow", "argo-x", "body");
    TaskRef named{"HelloFlow", "argo-x", "body",
                  new_task(client, "HelloFlow", "argo-x", "body", task_body("t-a"))};
    TaskRef numbered{"HelloFlow", "2", "body", new_task(client, "HelloFlow", "2", "body")};
    EXPECT_EQ(post_metadata(client, named, json::array{path("p")}), 1);
    EXPECT_EQ(post_metadata(client, numbered, json::array{path("p")}), 1);
    for (const char* run : {"argo-x", "2"}) {
        auto rows = get_array(client, step_url("HelloFlow", run, "body") + "/filtered_tasks");
        EXPECT_EQ(rows, (json::array{"HelloFlow/argo-x/body/t-a", "HelloFlow/argo-x/body/2"}))
            << run;
    }
}

TEST_F(ApiFilteredTasks, ArrayValuesMatchTheirTextForm) {
    create_step(client, "HelloFlow", "1", "body");
    task_with("body", {metadata_item("foreach-stack", json::array{"outer_items=a", "inner_items=1"},
                                     "foreach-stack")});
    EXPECT_EQ(filtered("body", "pattern=" + url_encode(".outer_items=a,inner_items=1.")),
              paths({"1"}, "body"));
    EXPECT_EQ(filtered("body", "pattern=" + url_encode("\\{outer_items=a,.*\\}")),
              paths({"1"}, "body"));
    EXPECT_EQ(filtered("body", "pattern=" + url_encode("outer_items=a,inner_items=1")),
              json::array{});
}

TEST_F(ApiFilteredTasks, OnlyTheStepsOwnTasks) {
    create_step(client, "HelloFlow", "1", "end");
    task_with("start", {path("p")});  // 1
    task_with("end", {path("p")});    // 2
    EXPECT_EQ(filtered("start", "pattern=p"), paths({"1"}, "start"));
    EXPECT_EQ(filtered("end", "pattern=p"), paths({"2"}, "end"));
}

TEST_F(ApiFilteredTasks, EmptyForMissingParents) {
    for (const char* url : {"/flows/HelloFlow/runs/1/steps/nope/filtered_tasks",
                            "/flows/HelloFlow/runs/9/steps/start/filtered_tasks",
                            "/flows/NoSuchFlow/runs/1/steps/start/filtered_tasks?pattern=x"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
}

TEST_F(ApiFilteredTasks, EmptyParametersAreNotConditions) {
    // The reference tests `if field_name:` / `if pattern:`, so empty values filter nothing.
    task_with("start", {path("p")});  // 1
    EXPECT_EQ(filtered("start", "metadata_field_name="), paths({"1"}, "start"));
    EXPECT_EQ(filtered("start", "pattern="), paths({"1"}, "start"));
    EXPECT_EQ(filtered("start", "metadata_field_name=&pattern="), paths({"1"}, "start"));
}

TEST_F(ApiFilteredTasks, InvalidRegexIsAnErrorNotAList) {
    task_with("start", {path("p")});
    RowCounts counts(server);
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start/filtered_tasks?pattern=" +
                        url_encode("(unclosed"));
    EXPECT_GE(r.status, 400u) << r.body;
    auto value = r.json();
    EXPECT_TRUE(value.is_string() || value.is_object()) << r.body;
    counts.expect_unchanged("an invalid pattern");
    // The server is still fine afterwards.
    EXPECT_EQ(filtered("start", "pattern=p"), paths({"1"}, "start"));
}

// ---------------------------------------------------------------------------------------
// Heartbeats: task creation and POST .../tasks/{task_id}/heartbeat (docs/api.md#heartbeats)

class ApiTaskHeartbeat : public ApiTasks {
protected:
    HttpResponse beat(const std::string& task, const std::string& step = "start",
                      const std::string& run = "1") {
        auto r = client.post(task_url("HelloFlow", run, step, task) + "/heartbeat", "{}");
        EXPECT_EQ(r.body, kHeartbeatBody) << "status " << r.status;
        expect_version_header(r);
        EXPECT_EQ(r.header("content-type"), kTextPlain);
        return r;
    }
    json::value task_heartbeat(const std::string& task) {
        return get_object(client, task_url("HelloFlow", "1", "start", task))["last_heartbeat_ts"];
    }
};

TEST_F(ApiTaskHeartbeat, ThrottledFor10SecondsInclusive) {
    at(kT0 + 500);
    create_task(client, "HelloFlow", "1", "start");  // heartbeat kT0s
    EXPECT_EQ(beat("1").status, 404u);
    at(kT0 + 9'999);
    EXPECT_EQ(beat("1").status, 404u);
    EXPECT_EQ(task_heartbeat("1"), kT0s);
    at(kT0 + 10'000);
    EXPECT_EQ(beat("1").status, 200u);
    EXPECT_EQ(task_heartbeat("1"), kT0s + 10);
    EXPECT_EQ(double_decoded(beat("1")), json::value({{"wait_time_in_seconds", 10}}));
    at(kT0 + 20'000);
    EXPECT_EQ(beat("1").status, 200u);
    EXPECT_EQ(task_heartbeat("1"), kT0s + 20);
}

TEST_F(ApiTaskHeartbeat, TaskWithoutHeartbeatAcceptsTheFirstAtOnce) {
    auto task = create_task(client, "HelloFlow", "1", "start", task_body(std::nullopt, "2.0"));
    EXPECT_TRUE(task["last_heartbeat_ts"].is_null());
    EXPECT_TRUE(task_heartbeat("1").is_null());
    at(kT0 + 3'000);
    EXPECT_EQ(beat("1").status, 200u);
    EXPECT_EQ(task_heartbeat("1"), kT0s + 3);
    EXPECT_EQ(beat("1").status, 404u);
}

TEST_F(ApiTaskHeartbeat, UnknownTaskIs404) {
    create_task(client, "HelloFlow", "1", "start", task_body(std::nullopt, "2.0"));
    EXPECT_EQ(beat("2").status, 404u);
    EXPECT_EQ(beat("t-none").status, 404u);
    EXPECT_EQ(beat("1", "end").status, 404u);
    EXPECT_EQ(beat("1", "start", "2").status, 404u);
    EXPECT_EQ(beat("99999999999999999999999").status, 404u);
    EXPECT_TRUE(task_heartbeat("1").is_null());
}

TEST_F(ApiTaskHeartbeat, ReachesNamedTasksAndStringRuns) {
    create_run(client, "HelloFlow", run_body("argo-x"));  // run 2
    create_step(client, "HelloFlow", "argo-x", "start");
    create_task(client, "HelloFlow", "argo-x", "start", task_body("t-a", "2.0"));  // task 1
    EXPECT_EQ(beat("t-a", "start", "argo-x").status, 200u);
    at(kT0 + 10'000);
    EXPECT_EQ(beat("1", "start", "2").status, 200u);
    EXPECT_EQ(
        get_object(client, "/flows/HelloFlow/runs/2/steps/start/tasks/t-a")["last_heartbeat_ts"],
        kT0s + 10);
}

TEST_F(ApiTaskHeartbeat, TaskHeartbeatRefreshesTheRun) {
    create_task(client, "HelloFlow", "1", "start");  // run and task heartbeat kT0s
    at(kT0 + 10'000);
    EXPECT_EQ(beat("1").status, 200u);
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
    // So the run's own heartbeat is throttled now.
    auto r = client.post("/flows/HelloFlow/runs/1/heartbeat", "{}");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
}

TEST_F(ApiTaskHeartbeat, RunIsRefreshedEvenWhenTheTaskIsThrottled) {
    at(kT0 + 5'000);
    create_task(client, "HelloFlow", "1", "start");  // task kT0s + 5; run stays kT0s
    EXPECT_EQ(run_heartbeat(), kT0s);
    at(kT0 + 10'000);
    EXPECT_EQ(beat("1").status, 404u);  // the task's 10 s are not up
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
    EXPECT_EQ(task_heartbeat("1"), kT0s + 5);
}

TEST_F(ApiTaskHeartbeat, RunIsRefreshedEvenForAnUnknownTask) {
    at(kT0 + 10'000);
    EXPECT_EQ(beat("42").status, 404u);
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
}

TEST_F(ApiTaskHeartbeat, CreatingACapableTaskRefreshesTheRun) {
    at(kT0 + 9'999);
    create_task(client, "HelloFlow", "1", "start");  // too soon for the run
    EXPECT_EQ(run_heartbeat(), kT0s);
    at(kT0 + 10'000);
    create_task(client, "HelloFlow", "1", "start");
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
    at(kT0 + 15'000);
    create_task(client, "HelloFlow", "1", "start");
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
    // A task of a client without heartbeats leaves the run alone.
    at(kT0 + 40'000);
    auto old = create_task(client, "HelloFlow", "1", "start", task_body(std::nullopt, "2.0"));
    EXPECT_TRUE(old["last_heartbeat_ts"].is_null());
    EXPECT_EQ(run_heartbeat(), kT0s + 10);
    // And so the run's own heartbeat goes through.
    auto r = client.post("/flows/HelloFlow/runs/1/heartbeat", "{}");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(run_heartbeat(), kT0s + 40);
}

TEST_F(ApiTaskHeartbeat, CreatingATaskRefreshesARunWithoutHeartbeat) {
    create_run(client, "HelloFlow", {{"system_tags", json::array{"metaflow_version:2.0"}}});  // 2
    create_step(client, "HelloFlow", "2", "start");
    EXPECT_TRUE(run_heartbeat("2").is_null());
    at(kT0 + 1'000);
    create_task(client, "HelloFlow", "2", "start");
    EXPECT_EQ(run_heartbeat("2"), kT0s + 1);
}

TEST_F(ApiTaskHeartbeat, FailedTaskCreateDoesNotRefreshTheRun) {
    create_task(client, "HelloFlow", "1", "start", task_body("t-1"));
    at(kT0 + 10'000);
    auto r =
        client.post("/flows/HelloFlow/runs/1/steps/start/task", json::serialize(task_body("t-1")));
    EXPECT_EQ(r.status, 409u);
    auto missing_step =
        client.post("/flows/HelloFlow/runs/1/steps/end/task", json::serialize(task_body()));
    EXPECT_EQ(missing_step.status, 404u);
    EXPECT_EQ(run_heartbeat(), kT0s);
}

TEST_F(ApiTaskHeartbeat, ConcurrentPairsGetExactlyOne200) {
    create_task(client, "HelloFlow", "1", "start");
    for (int round = 1; round <= 15; ++round) {
        at(kT0 + round * 10'000);
        std::vector<unsigned> statuses(2);
        run_concurrently(server, 2, [&](int i, HttpClient& c) {
            statuses[static_cast<std::size_t>(i)] =
                c.post("/flows/HelloFlow/runs/1/steps/start/tasks/1/heartbeat", "{}").status;
        });
        std::sort(statuses.begin(), statuses.end());
        EXPECT_EQ(statuses, (std::vector<unsigned>{200, 404})) << "round " << round;
    }
    EXPECT_EQ(task_heartbeat("1"), kT0s + 150);
    EXPECT_EQ(run_heartbeat(), kT0s + 150);
}

TEST_F(ApiTaskHeartbeat, RequestBodyIsIgnored) {
    create_task(client, "HelloFlow", "1", "start", task_body(std::nullopt, "2.0"));
    auto r = client.post("/flows/HelloFlow/runs/1/steps/start/tasks/1/heartbeat", "[not json");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, kHeartbeatBody);
}

}  // namespace
}  // namespace mf::testing::api
