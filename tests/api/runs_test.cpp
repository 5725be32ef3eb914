// The run routes: the run list (legacy, paginated, filtered), single run reads,
// run creation, run heartbeats (docs/api.md#heartbeats) and tag mutation
// (docs/api.md#tag-mutation).

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // a whole second, in ms

class ApiRuns : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();

    void SetUp() override {
        at(kT0);
        create_flow(client, "HelloFlow");
    }
    void at(std::int64_t ms) { server.clock().set_ms(ms); }
};

// ---------------------------------------------------------------------------------------
// POST /flows/{flow_id}/run

TEST_F(ApiRuns, CreateReturnsTheRunWithoutUser) {
    at(kT0 + 123);
    auto r = client.post("/flows/HelloFlow/run", json::serialize(run_body()));
    expect_ok_json(r);
    auto run = object_of(r);
    // `user` is derived on reads only; `status` only on status-filtered lists.
    expect_keys(run, kRunKeys);
    EXPECT_EQ(run["flow_id"], "HelloFlow");
    EXPECT_EQ(run["run_number"], 1);  // a JSON number for a run without string id
    EXPECT_EQ(run["user_name"], "alice");
    EXPECT_EQ(run["ts_epoch"], kT0 + 123);  // the server clock, not the posted ts_epoch
    EXPECT_EQ(run["tags"], json::value(json::array{"team:ml"}));
    EXPECT_EQ(run["system_tags"], json::value(run_system_tags()));
    EXPECT_EQ(run["last_heartbeat_ts"], kT0 / 1000);  // seconds
    EXPECT_EQ(rows_in(server, "runs_v3"), 1);
}

TEST_F(ApiRuns, CreateWithoutFieldsStoresNulls) {
    auto r = client.post("/flows/HelloFlow/run", "{}");
    expect_ok_json(r);
    auto run = object_of(r);
    expect_keys(run, kRunKeys);
    EXPECT_TRUE(run["user_name"].is_null());
    EXPECT_TRUE(run["tags"].is_null());
    EXPECT_TRUE(run["system_tags"].is_null());
    // Missing system tags count as a heartbeat-capable client (docs/api.md#heartbeats).
    EXPECT_EQ(run["last_heartbeat_ts"], kT0 / 1000);
}

TEST_F(ApiRuns, RunNumbersComeFromOneGlobalSequence) {
    create_flow(client, "OtherFlow");
    EXPECT_EQ(create_run(client, "HelloFlow")["run_number"], 1);
    EXPECT_EQ(create_run(client, "OtherFlow")["run_number"], 2);
    EXPECT_EQ(create_run(client, "HelloFlow")["run_number"], 3);
    // A run without string id is new every time.
    EXPECT_EQ(rows_in(server, "runs_v3"), 3);
}

TEST_F(ApiRuns, StringRunIdIsExposedAndReachableBothWays) {
    auto run = create_run(client, "HelloFlow", run_body("argo-helloflow-x7k2p"));
    EXPECT_EQ(run["run_number"], "argo-helloflow-x7k2p");
    for (const char* key : {"argo-helloflow-x7k2p", "1"}) {
        auto read = get_object(client, run_url("HelloFlow", key));
        EXPECT_EQ(read["run_number"], "argo-helloflow-x7k2p") << key;
        EXPECT_EQ(read["user"], "alice") << key;
    }
}

TEST_F(ApiRuns, DuplicateStringRunIdIs409) {
    create_run(client, "HelloFlow", run_body("sfn-1"));
    auto r = client.post("/flows/HelloFlow/run", json::serialize(run_body("sfn-1")));
    expect_db_error(r, 409);
    expect_version_header(r);
    EXPECT_EQ(rows_in(server, "runs_v3"), 1);
}

TEST_F(ApiRuns, SameStringRunIdInAnotherFlowIsFine) {
    create_flow(client, "OtherFlow");
    create_run(client, "HelloFlow", run_body("shared-id"));
    auto run = create_run(client, "OtherFlow", run_body("shared-id"));
    EXPECT_EQ(run["run_number"], "shared-id");
    EXPECT_EQ(get_object(client, run_url("OtherFlow", "2"))["run_number"], "shared-id");
    EXPECT_EQ(get_object(client, run_url("HelloFlow", "1"))["run_number"], "shared-id");
}

TEST_F(ApiRuns, EmptyStringRunNumberIsTreatedAsAbsent) {
    auto first = create_run(client, "HelloFlow", run_body(""));
    auto second = create_run(client, "HelloFlow", run_body(""));
    EXPECT_EQ(first["run_number"], 1);
    EXPECT_EQ(second["run_number"], 2);
}

TEST_F(ApiRuns, NullRunNumberIsTreatedAsAbsent) {
    auto body = run_body();
    body["run_number"] = nullptr;
    EXPECT_EQ(create_run(client, "HelloFlow", body)["run_number"], 1);
}

TEST_F(ApiRuns, CreateUnderMissingFlowIs404) {
    auto r = client.post("/flows/NoSuchFlow/run", json::serialize(run_body()));
    expect_db_error(r, 404);
    expect_version_header(r);
    EXPECT_EQ(rows_in(server, "runs_v3"), 0);
}

TEST_F(ApiRuns, ConcurrentCreatesGetDistinctNumbers) {
    std::mutex mutex;
    std::vector<std::string> numbers;
    run_concurrently(server, 4, [&](int i, HttpClient& c) {
        for (int j = 0; j < 10; ++j) {
            auto body =
                j % 2 ? run_body() : run_body("id-" + std::to_string(i) + "-" + std::to_string(j));
            auto r = c.post("/flows/HelloFlow/run", json::serialize(body));
            EXPECT_EQ(r.status, 200u) << r.body;
            auto run = object_of(r);
            std::lock_guard lock(mutex);
            numbers.push_back(id_text(run["run_number"]));
        }
    });
    EXPECT_EQ(std::set<std::string>(numbers.begin(), numbers.end()).size(), 40u);
    EXPECT_EQ(rows_in(server, "runs_v3"), 40);
    // Numeric ids 1..40 were all handed out once.
    for (const auto& run : get_array(client, "/flows/HelloFlow/runs")) {
        auto read =
            get_object(client, run_url("HelloFlow", id_text(run.as_object().at("run_number"))));
        EXPECT_EQ(read, run.as_object());
    }
    for (int n = 1; n <= 40; ++n) {
        auto r = client.get(run_url("HelloFlow", std::to_string(n)));
        EXPECT_EQ(r.status, 200u) << n;
    }
}

TEST_F(ApiRuns, NonAsciiDigitsAreAStringRunId) {
    // Only [0-9]+ is numeric (docs/api.md#ids); "²" and Arabic-Indic digits are string ids.
    for (const char* id : {"\xc2\xb2", "\xd9\xa1\xd9\xa2"}) {
        auto run = create_run(client, "HelloFlow", run_body(id));
        EXPECT_EQ(run["run_number"], id);
        EXPECT_EQ(get_object(client, run_url("HelloFlow", url_encode(id)))["run_number"], id);
    }
}

TEST_F(ApiRuns, UnknownBodyFieldsAreIgnored) {
    auto body = run_body();
    body["unexpected"] = json::object{{"nested", json::array{1, 2}}};
    body["last_heartbeat_ts"] = 5;
    body["status"] = "completed";
    auto run = create_run(client, "HelloFlow", body);
    expect_keys(run, kRunKeys);
    EXPECT_EQ(run["last_heartbeat_ts"], kT0 / 1000);
}

TEST_F(ApiRuns, HeartbeatOnCreateFollowsTheClientVersion) {
    struct Case {
        json::value system_tags;
        bool heartbeat;
    };
    const std::vector<Case> cases = {
        {json::array{"metaflow_version:2.0"}, false},
        {json::array{"metaflow_version:2.2.11"}, false},
        {json::array{"metaflow_version:1.13"}, false},
        {json::array{"runtime:dev"}, false},  // no version tag at all
        {json::array{}, false},
        {json::array{"metaflow_version:2.2.12"}, true},
        {json::array{"metaflow_version:1.14.0"}, true},
        {json::array{"metaflow_version:custom-1"}, true},
        {json::array{"metaflow_version:2.12.24.post9-git2a5367b+ob(v1)"}, true},
        {json::array{"metaflow_version:2.0", "metaflow_version:2.12.0"}, false},  // first wins
        {nullptr, true},
    };
    at(kT0 + 999);
    for (const auto& c : cases) {
        json::object body{{"user_name", "alice"}, {"system_tags", c.system_tags}};
        auto run = create_run(client, "HelloFlow", body);
        if (c.heartbeat) {
            EXPECT_EQ(run["last_heartbeat_ts"], kT0 / 1000) << c.system_tags;
        } else {
            EXPECT_TRUE(run["last_heartbeat_ts"].is_null()) << c.system_tags;
        }
        auto read = get_object(client, run_url("HelloFlow", id_text(run["run_number"])));
        EXPECT_EQ(read["last_heartbeat_ts"], run["last_heartbeat_ts"]) << c.system_tags;
    }
}

// ---------------------------------------------------------------------------------------
// GET /flows/{flow_id}/runs/{run_number}

TEST_F(ApiRuns, GetAddsTheVerifiedUser) {
    at(kT0 + 5);
    auto created = create_run(client, "HelloFlow");
    at(kT0 + 50'000);
    auto r = client.get("/flows/HelloFlow/runs/1");
    expect_ok_json(r);
    auto run = object_of(r);
    auto keys = kRunKeys;
    keys.push_back("user");
    expect_keys(run, keys);
    EXPECT_EQ(run["user"], "alice");
    run.erase("user");
    EXPECT_EQ(run, created);
}

TEST_F(ApiRuns, UserIsAbsentUnlessTheSystemTagsVerifyIt) {
    // user_name bob, but the system tags say alice.
    json::object unverified{{"user_name", "bob"}, {"system_tags", run_system_tags("alice")}};
    json::object no_user{{"system_tags", run_system_tags("alice")}};
    json::object no_tags{{"user_name", "alice"}};
    for (const auto& body : {unverified, no_user, no_tags}) {
        auto run = create_run(client, "HelloFlow", body);
        auto read = get_object(client, run_url("HelloFlow", id_text(run["run_number"])));
        expect_keys(read, kRunKeys);
        EXPECT_FALSE(read.contains("user")) << json::serialize(body);
    }
}

TEST_F(ApiRuns, GetMissingRunIs404) {
    create_run(client, "HelloFlow");
    expect_not_found(client.get("/flows/HelloFlow/runs/2"));
    expect_not_found(client.get("/flows/HelloFlow/runs/no-such-id"));
    expect_not_found(client.get("/flows/NoSuchFlow/runs/1"));
    // A run of another flow is not found under this one.
    create_flow(client, "OtherFlow");
    expect_not_found(client.get("/flows/OtherFlow/runs/1"));
}

TEST_F(ApiRuns, RunNumberTooLargeFor64BitsIs404) {
    create_run(client, "HelloFlow");
    expect_not_found(client.get("/flows/HelloFlow/runs/99999999999999999999999"));
    expect_not_found(client.get("/flows/HelloFlow/runs/9223372036854775808"));
    expect_not_found(client.get("/flows/HelloFlow/runs/9223372036854775807"));
}

TEST_F(ApiRuns, LeadingZerosStillSelectTheNumber) {
    create_run(client, "HelloFlow");
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/0001")["run_number"], 1);
}

// ---------------------------------------------------------------------------------------
// GET /flows/{flow_id}/runs: legacy mode

TEST_F(ApiRuns, LegacyListIsEmptyForAFlowWithoutRunsOrNoFlow) {
    for (const char* flow : {"HelloFlow", "NoSuchFlow"}) {
        auto r = client.get(flow_url(flow) + "/runs");
        expect_ok_json(r);
        expect_legacy_list(r);
        EXPECT_EQ(r.body, "[]") << flow;
    }
}

TEST_F(ApiRuns, LegacyListHasEveryRunOfTheFlowWithUser) {
    create_flow(client, "OtherFlow");
    for (int i = 0; i < 55; ++i) {
        at(kT0 + i);
        create_run(client, "HelloFlow");
    }
    create_run(client, "OtherFlow");
    create_run(client, "HelloFlow", {{"user_name", "nobody"}});
    auto r = client.get("/flows/HelloFlow/runs");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto runs = array_of(r);
    ASSERT_EQ(runs.size(), 56u);
    std::set<std::string> numbers;
    int with_user = 0;
    for (const auto& row : runs) {
        const auto& run = row.as_object();
        EXPECT_EQ(run.at("flow_id"), "HelloFlow");
        numbers.insert(id_text(run.at("run_number")));
        with_user += run.contains("user");
        EXPECT_FALSE(run.contains("status"));
    }
    EXPECT_EQ(numbers.size(), 56u);
    EXPECT_EQ(numbers.count("56"), 0u);  // OtherFlow's run
    EXPECT_EQ(with_user, 55);
}

TEST_F(ApiRuns, UnknownQueryKeysKeepTheLegacyMode) {
    create_run(client, "HelloFlow");
    auto r = client.get("/flows/HelloFlow/runs?foo=bar&_order=asc&_page=2&step_name=start");
    expect_ok_json(r);
    expect_legacy_list(r);
    EXPECT_EQ(array_of(r).size(), 1u);
}

// ---------------------------------------------------------------------------------------
// GET /flows/{flow_id}/runs: paginated mode

TEST_F(ApiRuns, PaginatedListWalksEveryRunOnceNewestFirst) {
    create_flow(client, "OtherFlow");
    std::vector<std::string> expected;
    for (int i = 0; i < 7; ++i) {
        at(kT0 + (i % 3) * 1000);  // repeated timestamps: ties broken by run number
        create_run(client, "OtherFlow");
        create_run(client, "HelloFlow", i == 3 ? run_body("named-run") : run_body());
    }
    // Expected order: ts_epoch DESC, run_number DESC, over HelloFlow's runs only.
    // Run numbers: HelloFlow got 2,4,...,14 at times i%3 = 0,1,2,0,1,2,0.
    std::vector<std::pair<std::int64_t, std::int64_t>> keys;
    for (int i = 0; i < 7; ++i) keys.emplace_back((i % 3) * 1000, 2 * (i + 1));
    std::sort(keys.rbegin(), keys.rend());
    for (auto& [ts, number] : keys)
        expected.push_back(number == 8 ? "named-run" : std::to_string(number));
    auto walk = walk_pages(client, "/flows/HelloFlow/runs", 3);
    EXPECT_EQ(walk.pages, 3);
    EXPECT_EQ(column(walk.rows, "run_number"), expected);
    for (const auto& row : walk.rows) EXPECT_EQ(row.as_object().at("user"), "alice");
}

TEST_F(ApiRuns, RunCursorCarriesTheNumericRunNumber) {
    at(kT0);
    create_run(client, "HelloFlow");
    at(kT0 + 7);
    create_run(client, "HelloFlow", run_body("string-id"));
    auto r = client.get("/flows/HelloFlow/runs?_limit=1");
    expect_ok_json(r);
    EXPECT_EQ(column(array_of(r), "run_number"), std::vector<std::string>{"string-id"});
    auto cursor = cursor_json(r.header("x-next-cursor"));
    EXPECT_EQ(json::value(cursor), json::value({{"ts_epoch", kT0 + 7}, {"run_number", 2}}));
}

TEST_F(ApiRuns, DocumentedCursorExampleSelectsOlderRuns) {
    // {"ts_epoch": 1718000000123, "run_number": 40}, the example cursor of docs/api.md#pagination.
    at(1'718'000'000'123);
    create_run(client, "HelloFlow");  // run 1: same ts, lower number: included
    at(1'718'000'000'124);
    create_run(client, "HelloFlow");  // run 2: newer: excluded
    auto rows = get_array(
        client, "/flows/HelloFlow/runs?_cursor=" +
                    url_encode("eyJ0c19lcG9jaCI6IDE3MTgwMDAwMDAxMjMsICJydW5fbnVtYmVyIjogNDB9"));
    EXPECT_EQ(column(rows, "run_number"), std::vector<std::string>{"1"});
}

TEST_F(ApiRuns, LimitZeroAndCap) {
    create_run(client, "HelloFlow");
    auto zero = client.get("/flows/HelloFlow/runs?_limit=0");
    expect_ok_json(zero);
    EXPECT_EQ(zero.body, "[]");
    EXPECT_EQ(zero.header("x-limit"), "0");
    EXPECT_FALSE(zero.has_header("x-next-cursor"));
    auto big = client.get("/flows/HelloFlow/runs?_limit=501");
    EXPECT_EQ(big.header("x-limit"), "500");
    EXPECT_EQ(array_of(big).size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Filters (docs/api.md#filters)

class ApiRunFilters : public ApiRuns {
protected:
    // Runs 1..4 of HelloFlow at distinct times, plus run 5 in OtherFlow.
    void SetUp() override {
        ApiRuns::SetUp();
        create_flow(client, "OtherFlow");
        at(kT0 + 1000);
        create_run(client, "HelloFlow",
                   {{"user_name", "alice"},
                    {"tags", json::array{"a", "b"}},
                    {"system_tags", json::array{"user:alice", "s1", "metaflow_version:2.12.0"}}});
        at(kT0 + 2000);
        create_run(client, "HelloFlow",
                   {{"user_name", "bob"},
                    {"tags", json::array{"a"}},
                    {"system_tags", json::array{"user:alice", "s1", "metaflow_version:2.12.0"}}});
        at(kT0 + 3000);
        create_run(client, "HelloFlow",
                   {{"run_number", "argo-x"},
                    {"user_name", "bob"},
                    {"tags", json::array{}},
                    {"system_tags", json::array{"user:bob", "s2", "metaflow_version:2.0"}}});
        at(kT0 + 4000);
        create_run(client, "HelloFlow",
                   {{"user_name", "Carol"},
                    {"tags", json::array{"c"}},
                    {"system_tags", json::array{"user:carol", "metaflow_version:2.0"}}});
        create_run(client, "OtherFlow", {{"user_name", "alice"}, {"tags", json::array{"a", "b"}}});
    }

    // The exposed run ids of a filtered list, after checking it is in paginated mode.
    std::vector<std::string> runs(const std::string& query) {
        auto r = client.get("/flows/HelloFlow/runs?" + query);
        EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
        expect_version_header(r);
        EXPECT_EQ(r.header("x-limit"), "50") << query;
        auto rows = array_of(r);
        for (const auto& row : rows) {
            EXPECT_FALSE(row.as_object().contains("status")) << query;
            EXPECT_EQ(row.as_object().at("flow_id"), "HelloFlow");
        }
        return column(rows, "run_number");
    }
    using Ids = std::vector<std::string>;
};

TEST_F(ApiRunFilters, EqualityOnUserNameIsTheDefaultOperator) {
    EXPECT_EQ(runs("user_name=bob"), (Ids{"argo-x", "2"}));
    EXPECT_EQ(runs("user_name:eq=bob"), (Ids{"argo-x", "2"}));
    EXPECT_EQ(runs("user_name:ne=bob"), (Ids{"4", "1"}));
}

TEST_F(ApiRunFilters, CommaSeparatedValuesAreOred) {
    EXPECT_EQ(runs("user_name=alice,Carol"), (Ids{"4", "1"}));
}

TEST_F(ApiRunFilters, SeparateParametersAreAnded) {
    EXPECT_EQ(runs("user_name=bob&ts_epoch:lt=" + std::to_string(kT0 + 3000)), (Ids{"2"}));
    EXPECT_EQ(runs("ts_epoch:ge=" + std::to_string(kT0 + 2000) +
                   "&ts_epoch:le=" + std::to_string(kT0 + 3000)),
              (Ids{"argo-x", "2"}));
}

TEST_F(ApiRunFilters, TimestampComparisons) {
    EXPECT_EQ(runs("ts_epoch:gt=" + std::to_string(kT0 + 3000)), (Ids{"4"}));
    EXPECT_EQ(runs("ts_epoch:ge=" + std::to_string(kT0 + 3000)), (Ids{"4", "argo-x"}));
    EXPECT_EQ(runs("ts_epoch=" + std::to_string(kT0 + 1000)), (Ids{"1"}));
}

TEST_F(ApiRunFilters, RunNumberAndRunId) {
    EXPECT_EQ(runs("run_number:gt=2"), (Ids{"4", "argo-x"}));
    EXPECT_EQ(runs("run_id=argo-x"), (Ids{"argo-x"}));
    EXPECT_EQ(runs("run_id=null"), (Ids{"4", "2", "1"}));
}

TEST_F(ApiRunFilters, NullMeansIsNull) {
    // Runs 3 and 4 have metaflow_version:2.0, so no heartbeat.
    EXPECT_EQ(runs("last_heartbeat_ts=null"), (Ids{"4", "argo-x"}));
    // Run 1 was created at kT0 + 1 s, run 2 at kT0 + 2 s.
    EXPECT_EQ(runs("last_heartbeat_ts=null," + std::to_string(kT0 / 1000 + 1)),
              (Ids{"4", "argo-x", "1"}));
    EXPECT_EQ(runs("last_heartbeat_ts:ge=" + std::to_string(kT0 / 1000 + 1)), (Ids{"2", "1"}));
}

TEST_F(ApiRunFilters, LikeOperatorsAreCaseInsensitive) {
    EXPECT_EQ(runs("user_name:co=AR"), (Ids{"4"}));
    EXPECT_EQ(runs("user_name:sw=b"), (Ids{"argo-x", "2"}));
    EXPECT_EQ(runs("user_name:ew=CE"), (Ids{"1"}));
    EXPECT_EQ(runs("user_name:li=" + url_encode("%o%")), (Ids{"4", "argo-x", "2"}));
}

TEST_F(ApiRunFilters, UserIsTheVerifiedOwner) {
    EXPECT_EQ(runs("user=bob"), (Ids{"argo-x"}));
    EXPECT_EQ(runs("user=alice"), (Ids{"1"}));
    // Carol's system tag says "user:carol": not verified.
    EXPECT_EQ(runs("user=Carol"), (Ids{}));
    EXPECT_EQ(runs("user=null"), (Ids{"4", "2"}));
}

TEST_F(ApiRunFilters, TagsAllAny) {
    EXPECT_EQ(runs("_tags=a,b"), (Ids{"1"}));
    EXPECT_EQ(runs("_tags:all=a,b"), (Ids{"1"}));
    // The combined set of tags and system tags.
    EXPECT_EQ(runs("_tags:all=a,s1"), (Ids{"2", "1"}));
    EXPECT_EQ(runs("_tags:any=b,s2"), (Ids{"argo-x", "1"}));
    EXPECT_EQ(runs("_tags=user:bob"), (Ids{"argo-x"}));
    EXPECT_EQ(runs("_tags=nothing"), (Ids{}));
    // Exact strings, not substrings.
    EXPECT_EQ(runs("_tags:any=user"), (Ids{}));
}

TEST_F(ApiRunFilters, TagsLikeAllAny) {
    EXPECT_EQ(runs("_tags:likeall=user:,s1"), (Ids{"2", "1"}));
    EXPECT_EQ(runs("_tags:likeany=carol,s2"), (Ids{"4", "argo-x"}));
}

TEST_F(ApiRunFilters, RawJsonEqualityOnTags) {
    EXPECT_EQ(runs("tags=" + url_encode(R"(["c"])")), (Ids{"4"}));
    EXPECT_EQ(runs("tags=" + url_encode("[]")), (Ids{"argo-x"}));
}

TEST_F(ApiRunFilters, FiltersArePagedBeforeTheLimit) {
    auto r = client.get("/flows/HelloFlow/runs?user_name=bob&_limit=1");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "1");
    EXPECT_EQ(column(array_of(r), "run_number"), (Ids{"argo-x"}));
    ASSERT_TRUE(r.has_header("x-next-cursor"));
    auto next = client.get("/flows/HelloFlow/runs?user_name=bob&_limit=1&_cursor=" +
                           url_encode(r.header("x-next-cursor")));
    expect_ok_json(next);
    EXPECT_EQ(column(array_of(next), "run_number"), (Ids{"2"}));
    EXPECT_FALSE(next.has_header("x-next-cursor"));
}

TEST_F(ApiRunFilters, UnknownFieldsAreIgnoredButKnownOnesTurnPagingOn) {
    auto r = client.get("/flows/HelloFlow/runs?step_name=x");
    expect_legacy_list(r);
    EXPECT_EQ(array_of(r).size(), 4u);
    EXPECT_EQ(runs("step_name=x&user_name=alice"), (Ids{"1"}));
}

// ---------------------------------------------------------------------------------------
// Derived status (docs/api.md#run-status)

class ApiRunStatus : public ApiRuns {
protected:
    // A run without heartbeat whose end step's task got these metadata posts, in order,
    // one clock tick apart.
    std::string run_with_end_metadata(const std::vector<json::object>& records) {
        auto run = new_run(client, "HelloFlow",
                           {{"user_name", "alice"},
                            {"tags", json::array{}},
                            {"system_tags", json::array{"user:alice", "metaflow_version:2.0"}}});
        if (records.empty()) return run;
        create_step(client, "HelloFlow", run, "end");
        TaskRef task{"HelloFlow", run, "end", new_task(client, "HelloFlow", run, "end")};
        for (const auto& record : records) {
            tick();
            EXPECT_EQ(post_metadata(client, task, json::array{record}), 1);
        }
        return run;
    }
    void tick() { at(server.clock().now_ms() + 1); }

    std::vector<std::string> runs_with_status(const std::string& filter,
                                              const std::string& expected_status) {
        auto r = client.get("/flows/HelloFlow/runs?" + filter);
        EXPECT_EQ(r.status, 200u) << filter << ": " << r.body;
        EXPECT_EQ(r.header("x-limit"), "50");
        auto rows = array_of(r);
        for (const auto& row : rows) {
            const auto& run = row.as_object();
            auto keys = kRunKeys;
            keys.push_back("status");
            keys.push_back("user");
            expect_keys(run, keys);
            if (!expected_status.empty()) {
                EXPECT_EQ(run.at("status"), expected_status.c_str());
            }
        }
        return column(rows, "run_number");
    }
};

TEST_F(ApiRunStatus, StatusFilterDerivesAndAddsTheStatus) {
    auto completed =
        run_with_end_metadata({metadata_item("attempt_ok", "True", "internal_attempt_status")});
    auto failed =
        run_with_end_metadata({metadata_item("attempt_ok", "False", "internal_attempt_status")});
    // The end step is being retried: an attempt newer than the failed attempt_ok.
    auto retrying =
        run_with_end_metadata({metadata_item("attempt_ok", "False", "internal_attempt_status"),
                               metadata_item("attempt", "1", "attempt", 1)});
    // The attempt is older than the failed attempt_ok: failed.
    auto failed_after_attempt =
        run_with_end_metadata({metadata_item("attempt", "0", "attempt"),
                               metadata_item("attempt_ok", "False", "internal_attempt_status")});
    // Newest attempt_ok wins.
    auto completed_after_failure =
        run_with_end_metadata({metadata_item("attempt_ok", "False", "internal_attempt_status"),
                               metadata_item("attempt_ok", "True", "internal_attempt_status", 1)});
    // No end metadata and no heartbeat: failed.
    auto silent = run_with_end_metadata({});

    using Ids = std::vector<std::string>;
    EXPECT_EQ(runs_with_status("status=completed", "completed"),
              (Ids{completed_after_failure, completed}));
    EXPECT_EQ(runs_with_status("status=failed", "failed"),
              (Ids{silent, failed_after_attempt, failed}));
    EXPECT_EQ(runs_with_status("status=running", "running"), (Ids{retrying}));
    EXPECT_EQ(runs_with_status("status:eq=running,completed", ""),
              (Ids{completed_after_failure, retrying, completed}));
}

TEST_F(ApiRunStatus, NoStatusFieldWithoutAStatusFilter) {
    run_with_end_metadata({metadata_item("attempt_ok", "True", "internal_attempt_status")});
    for (const char* query : {"", "?_limit=5", "?user_name=alice"}) {
        for (const auto& row : get_array(client, std::string("/flows/HelloFlow/runs") + query)) {
            EXPECT_FALSE(row.as_object().contains("status")) << query;
        }
    }
}

TEST(ApiRunStatusLive, RecentHeartbeatMeansRunning) {
    // The real clock: "recent" is judged against the database's now.
    TestServer server;
    auto client = server.client();
    create_flow(client, "HelloFlow");
    auto live = new_run(client, "HelloFlow");  // heartbeat-capable: heartbeat set to now
    auto silent =
        new_run(client, "HelloFlow", {{"system_tags", json::array{"metaflow_version:2.0"}}});
    auto r = client.get("/flows/HelloFlow/runs?status=running");
    expect_ok_json(r);
    auto rows = array_of(r);
    EXPECT_EQ(column(rows, "run_number"), std::vector<std::string>{live});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].as_object().at("status"), "running");
    auto failed = get_array(client, "/flows/HelloFlow/runs?status=failed");
    EXPECT_EQ(column(failed, "run_number"), std::vector<std::string>{silent});
}

// ---------------------------------------------------------------------------------------
// POST /flows/{flow_id}/runs/{run_number}/heartbeat (docs/api.md#heartbeats)

class ApiRunHeartbeat : public ApiRuns {
protected:
    HttpResponse beat(const std::string& run = "1", const std::string& flow = "HelloFlow") {
        auto r = client.post(run_url(flow, run) + "/heartbeat", "{}");
        EXPECT_EQ(r.body, kHeartbeatBody) << "status " << r.status;
        EXPECT_EQ(r.body.size(), 32u);
        expect_version_header(r);
        EXPECT_EQ(r.header("content-type"), kTextPlain);
        return r;
    }
    json::value heartbeat_of(const std::string& run = "1") {
        return get_object(client, run_url("HelloFlow", run))["last_heartbeat_ts"];
    }
};

TEST_F(ApiRunHeartbeat, BodyDecodesTwiceToTheWaitTime) {
    create_run(client, "HelloFlow");
    auto r = beat();
    EXPECT_EQ(double_decoded(r), json::value({{"wait_time_in_seconds", 10}}));
}

TEST_F(ApiRunHeartbeat, ThrottledFor10SecondsInclusive) {
    at(kT0 + 400);
    create_run(client, "HelloFlow");  // heartbeat kT0/1000
    EXPECT_EQ(beat().status, 404u);   // same second
    at(kT0 + 9'999);
    EXPECT_EQ(beat().status, 404u);  // 9 s later
    EXPECT_EQ(heartbeat_of(), kT0 / 1000);
    at(kT0 + 10'000);
    EXPECT_EQ(beat().status, 200u);  // exactly 10 s later
    EXPECT_EQ(heartbeat_of(), kT0 / 1000 + 10);
    EXPECT_EQ(beat().status, 404u);
    at(kT0 + 19'999);
    EXPECT_EQ(beat().status, 404u);
    at(kT0 + 20'000);
    EXPECT_EQ(beat().status, 200u);
    EXPECT_EQ(heartbeat_of(), kT0 / 1000 + 20);
    at(kT0 + 95'500);
    EXPECT_EQ(beat().status, 200u);
    EXPECT_EQ(heartbeat_of(), kT0 / 1000 + 95);
}

TEST_F(ApiRunHeartbeat, RunWithoutHeartbeatAcceptsTheFirstAtOnce) {
    create_run(client, "HelloFlow", {{"system_tags", json::array{"metaflow_version:2.0"}}});
    EXPECT_TRUE(heartbeat_of().is_null());
    at(kT0 + 2'500);
    EXPECT_EQ(beat().status, 200u);
    EXPECT_EQ(heartbeat_of(), kT0 / 1000 + 2);
    EXPECT_EQ(beat().status, 404u);
}

TEST_F(ApiRunHeartbeat, UnknownRunIs404WithTheSameBody) {
    create_run(client, "HelloFlow", {{"system_tags", json::array{"metaflow_version:2.0"}}});
    EXPECT_EQ(beat("2").status, 404u);
    EXPECT_EQ(beat("no-such-run").status, 404u);
    EXPECT_EQ(beat("1", "NoSuchFlow").status, 404u);
    EXPECT_EQ(beat("99999999999999999999999").status, 404u);
    // None of that touched run 1.
    EXPECT_TRUE(heartbeat_of().is_null());
}

TEST_F(ApiRunHeartbeat, ReachesRunsByStringIdToo) {
    create_run(client, "HelloFlow", run_body("argo-x"));
    at(kT0 + 10'000);
    EXPECT_EQ(beat("argo-x").status, 200u);
    EXPECT_EQ(beat("1").status, 404u);
    at(kT0 + 20'000);
    EXPECT_EQ(beat("1").status, 200u);
    EXPECT_EQ(heartbeat_of("argo-x"), kT0 / 1000 + 20);
}

TEST_F(ApiRunHeartbeat, RequestBodyIsIgnored) {
    create_run(client, "HelloFlow", {{"system_tags", json::array{"metaflow_version:2.0"}}});
    auto r = client.post("/flows/HelloFlow/runs/1/heartbeat", "this is not JSON");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, kHeartbeatBody);
    at(kT0 + 10'000);
    auto empty = client.post("/flows/HelloFlow/runs/1/heartbeat", "");
    EXPECT_EQ(empty.status, 200u) << empty.body;
}

TEST_F(ApiRunHeartbeat, ConcurrentPairsGetExactlyOne200) {
    create_run(client, "HelloFlow");
    for (int round = 1; round <= 15; ++round) {
        at(kT0 + round * 10'000);
        std::vector<unsigned> statuses(2);
        run_concurrently(server, 2, [&](int i, HttpClient& c) {
            statuses[static_cast<std::size_t>(i)] =
                c.post("/flows/HelloFlow/runs/1/heartbeat", "{}").status;
        });
        std::sort(statuses.begin(), statuses.end());
        EXPECT_EQ(statuses, (std::vector<unsigned>{200, 404})) << "round " << round;
    }
    EXPECT_EQ(heartbeat_of(), kT0 / 1000 + 150);
}

TEST_F(ApiRunHeartbeat, OnlyTheHeartbeatChanges) {
    auto created = create_run(client, "HelloFlow");
    at(kT0 + 30'000);
    EXPECT_EQ(beat().status, 200u);
    auto read = get_object(client, "/flows/HelloFlow/runs/1");
    EXPECT_EQ(read["last_heartbeat_ts"], kT0 / 1000 + 30);
    read.erase("last_heartbeat_ts");
    read.erase("user");
    created.erase("last_heartbeat_ts");
    EXPECT_EQ(read, created);
    EXPECT_EQ(rows_in(server, "runs_v3"), 1);
}

// ---------------------------------------------------------------------------------------
// PATCH /flows/{flow_id}/runs/{run_number}/tag/mutate (docs/api.md#tag-mutation)

class ApiTagMutation : public ApiRuns {
protected:
    void SetUp() override {
        ApiRuns::SetUp();
        // Run 1 with tags ["team:ml"] and the Metaflow client's system tags.
        create_run(client, "HelloFlow");
    }
    HttpResponse mutate(const json::object& body, const std::string& run = "1") {
        auto r = client.patch(run_url("HelloFlow", run) + "/tag/mutate", json::serialize(body));
        expect_version_header(r);
        EXPECT_EQ(r.header("content-type"), kTextPlain);
        return r;
    }
    json::value tags_of(const std::string& run = "1") {
        return get_object(client, run_url("HelloFlow", run))["tags"];
    }
};

TEST_F(ApiTagMutation, DocumentedExampleRemovesThenAddsAndSkipsSystemTags) {
    auto r = mutate({{"tags_to_add", json::array{"reviewed", "user:alice"}},
                     {"tags_to_remove", json::array{"team:ml"}}});
    expect_ok_json(r);
    EXPECT_EQ(r.json(), json::value({{"tags", json::array{"reviewed"}}}));
    EXPECT_EQ(tags_of(), json::value(json::array{"reviewed"}));
    // System tags are immutable.
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/1")["system_tags"],
              json::value(run_system_tags()));
}

TEST_F(ApiTagMutation, ReadsReturnTheArrayOfTheLastReply) {
    auto r = mutate({{"tags_to_add", json::array{"x", "y", "z"}}});
    expect_ok_json(r);
    auto reply = object_of(r);
    ASSERT_TRUE(reply.contains("tags"));
    EXPECT_EQ(string_set(reply["tags"]), (std::set<std::string>{"team:ml", "x", "y", "z"}));
    EXPECT_EQ(tags_of(), reply["tags"]);  // same order
    auto second = mutate({{"tags_to_remove", json::array{"y"}}, {"tags_to_add", json::array{"w"}}});
    auto tags = object_of(second)["tags"];
    EXPECT_EQ(string_set(tags), (std::set<std::string>{"team:ml", "x", "z", "w"}));
    EXPECT_EQ(tags_of(), tags);
}

TEST_F(ApiTagMutation, NoOpReturnsTheStoredOrder) {
    create_run(client, "HelloFlow", {{"tags", json::array{"b", "a", "c"}}});  // run 2
    for (const auto& body :
         {json::object{}, json::object{{"tags_to_add", json::array{"a", "c"}}},
          json::object{{"tags_to_remove", json::array{"never-there"}}},
          // removed, then added back
          json::object{{"tags_to_add", json::array{"a"}}, {"tags_to_remove", json::array{"a"}}},
          json::object{{"tags_to_add", json::array{}}, {"tags_to_remove", json::array{}}}}) {
        auto r = mutate(body, "2");
        expect_ok_json(r);
        EXPECT_EQ(r.json(), json::value({{"tags", json::array{"b", "a", "c"}}}))
            << json::serialize(body);
    }
    EXPECT_EQ(tags_of("2"), json::value(json::array{"b", "a", "c"}));
}

TEST_F(ApiTagMutation, AddingASystemTagIsASilentNoOp) {
    auto r = mutate({{"tags_to_add", json::array{"runtime:dev"}}});
    expect_ok_json(r);
    EXPECT_EQ(r.json(), json::value({{"tags", json::array{"team:ml"}}}));
}

TEST_F(ApiTagMutation, RemovingASystemTagIs422WithAPythonSet) {
    auto r = mutate({{"tags_to_remove", json::array{"runtime:dev"}}});
    expect_text_error(r, 422, "Cannot remove tags that are existing system tags {'runtime:dev'}");
    EXPECT_EQ(tags_of(), json::value(json::array{"team:ml"}));
}

TEST_F(ApiTagMutation, RemovingSeveralSystemTagsListsEachOnce) {
    auto r = mutate(
        {{"tags_to_remove", json::array{"runtime:dev", "team:ml", "user:alice", "runtime:dev"}},
         {"tags_to_add", json::array{"new"}}});
    EXPECT_EQ(r.status, 422u) << r.body;
    auto text = string_of(r);
    // A set: any order, no duplicates, and the user tag is not in it.
    EXPECT_TRUE(text ==
                    "Cannot remove tags that are existing system tags {'runtime:dev', "
                    "'user:alice'}" ||
                text ==
                    "Cannot remove tags that are existing system tags {'user:alice', "
                    "'runtime:dev'}")
        << text;
    // Nothing changed: neither the removal of team:ml nor the addition.
    EXPECT_EQ(tags_of(), json::value(json::array{"team:ml"}));
}

TEST_F(ApiTagMutation, LaterReadsOfChildrenShowTheNewTags) {
    create_step(client, "HelloFlow", "1", "start");
    TaskRef task{"HelloFlow", "1", "start", new_task(client, "HelloFlow", "1", "start")};
    EXPECT_EQ(
        post_artifacts(client, task, json::array{artifact_item("name"), artifact_item("alpha")}),
        2);
    auto r = mutate(
        {{"tags_to_add", json::array{"new-tag"}}, {"tags_to_remove", json::array{"team:ml"}}});
    expect_ok_json(r);
    auto tags = object_of(r)["tags"];
    EXPECT_EQ(tags, json::value(json::array{"new-tag"}));
    const auto sys = json::value(run_system_tags());
    auto check = [&](const json::value& object, const std::string& what) {
        ASSERT_TRUE(object.is_object()) << what;
        EXPECT_EQ(object.as_object().at("tags"), tags) << what;
        EXPECT_EQ(object.as_object().at("system_tags"), sys) << what;
    };
    check(get_object(client, task.run_url()), "run");
    check(get_object(client, task.step_url()), "step");
    check(get_object(client, task.url()), "task");
    check(get_object(client, task.url() + "/artifacts/alpha"), "artifact");
    check(get_object(client, task.url() + "/artifacts/alpha/attempt/0"), "attempt artifact");
    for (const auto& url :
         {task.run_url() + "/steps", task.step_url() + "/tasks", task.url() + "/artifacts",
          task.step_url() + "/artifacts", task.run_url() + "/artifacts",
          task.url() + "/attempt/0/artifacts", task.url() + "/artifacts?_limit=10",
          task.step_url() + "/tasks?_limit=10"}) {
        auto rows = get_array(client, url);
        EXPECT_FALSE(rows.empty()) << url;
        for (const auto& row : rows) check(row, url);
    }
    auto runs = get_array(client, "/flows/HelloFlow/runs");
    ASSERT_EQ(runs.size(), 1u);
    check(runs[0], "run list");
}

TEST_F(ApiTagMutation, NullTagsCountAsEmpty) {
    create_run(client, "HelloFlow", {{"user_name", "alice"}});  // run 2: tags and system tags null
    EXPECT_TRUE(tags_of("2").is_null());
    auto r =
        mutate({{"tags_to_add", json::array{"x", "x"}}, {"tags_to_remove", json::array{"y"}}}, "2");
    expect_ok_json(r);
    EXPECT_EQ(r.json(), json::value({{"tags", json::array{"x"}}}));
    EXPECT_EQ(tags_of("2"), json::value(json::array{"x"}));
}

TEST_F(ApiTagMutation, NullTagsNoOpAnswersAnEmptyList) {
    create_run(client, "HelloFlow", {{"user_name", "alice"}});  // run 2
    auto r = mutate({{"tags_to_remove", json::array{"y"}}}, "2");
    expect_ok_json(r);
    EXPECT_EQ(r.json(), json::value({{"tags", json::array{}}}));
}

TEST_F(ApiTagMutation, WorksThroughTheStringRunId) {
    create_run(client, "HelloFlow", run_body("argo-x"));
    auto r = mutate({{"tags_to_add", json::array{"via-id"}}}, "argo-x");
    expect_ok_json(r);
    EXPECT_EQ(string_set(object_of(r)["tags"]), (std::set<std::string>{"team:ml", "via-id"}));
    EXPECT_EQ(string_set(tags_of("2")), (std::set<std::string>{"team:ml", "via-id"}));
    // Run 1 is untouched.
    EXPECT_EQ(tags_of("1"), json::value(json::array{"team:ml"}));
}

TEST_F(ApiTagMutation, MissingRunIs404EmptyObject) {
    expect_not_found(mutate({{"tags_to_add", json::array{"x"}}}, "2"));
    expect_not_found(mutate({{"tags_to_add", json::array{"x"}}}, "no-such-run"));
    auto r = client.patch("/flows/NoSuchFlow/runs/1/tag/mutate", R"({"tags_to_add": ["x"]})");
    expect_not_found(r);
}

TEST_F(ApiTagMutation, ConcurrentMutationsLoseNothing) {
    constexpr int kThreads = 4;
    constexpr int kEach = 8;
    std::mutex mutex;
    std::vector<unsigned> statuses;
    run_concurrently(server, kThreads, [&](int i, HttpClient& c) {
        for (int j = 0; j < kEach; ++j) {
            json::object body{
                {"tags_to_add", json::array{"t" + std::to_string(i) + "-" + std::to_string(j)}}};
            // A 409 asks the client to retry (docs/api.md#tag-mutation), as the Metaflow client
            // does.
            for (int attempt = 0; attempt < 20; ++attempt) {
                auto r = c.patch("/flows/HelloFlow/runs/1/tag/mutate", json::serialize(body));
                std::lock_guard lock(mutex);
                statuses.push_back(r.status);
                if (r.status != 409) break;
            }
        }
    });
    for (auto status : statuses) EXPECT_TRUE(status == 200 || status == 409) << status;
    std::set<std::string> expected{"team:ml"};
    for (int i = 0; i < kThreads; ++i) {
        for (int j = 0; j < kEach; ++j)
            expected.insert("t" + std::to_string(i) + "-" + std::to_string(j));
    }
    EXPECT_EQ(string_set(tags_of()), expected);
    EXPECT_EQ(tags_of().as_array().size(), expected.size());  // no duplicates
}

TEST_F(ApiTagMutation, ValidationTextsInOrder) {
    struct Case {
        const char* body;
        const char* text;
    };
    const std::vector<Case> cases = {
        {R"({"tags_to_add": "x"})", "tags_to_add must be a list"},
        {R"({"tags_to_add": null})", "tags_to_add must be a list"},
        {R"({"tags_to_add": {"a": 1}})", "tags_to_add must be a list"},
        {R"({"tags_to_remove": "x"})", "tags_to_remove must be a list"},
        {R"({"tags_to_remove": null})", "tags_to_remove must be a list"},
        {R"({"tags_to_add": [1]})", "All tag values must be strings"},
        {R"({"tags_to_remove": ["ok", null]})", "All tag values must be strings"},
        // Both lists are checked before any element.
        {R"({"tags_to_add": "x", "tags_to_remove": "y"})", "tags_to_add must be a list"},
        {R"({"tags_to_add": [1], "tags_to_remove": "y"})", "tags_to_remove must be a list"},
        {R"({"tags_to_remove": [1], "tags_to_add": "y"})", "tags_to_add must be a list"},
        // Validation comes before the system-tag check.
        {R"({"tags_to_remove": ["runtime:dev"], "tags_to_add": [2]})",
         "All tag values must be strings"},
    };
    RowCounts counts(server);
    for (const auto& c : cases) {
        auto r = client.patch("/flows/HelloFlow/runs/1/tag/mutate", c.body);
        expect_text_error(r, 400, c.text);
        expect_version_header(r);
    }
    counts.expect_unchanged("invalid tag mutations");
    EXPECT_EQ(tags_of(), json::value(json::array{"team:ml"}));
}

}  // namespace
}  // namespace mf::testing::api
