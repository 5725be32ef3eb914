// The artifact routes: posting artifacts, single artifact reads (latest attempt and
// exact attempt), and the task, attempt, step and run artifact lists (docs/api.md#artifacts).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <tuple>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

// (task_id, name, attempt_id) of each artifact row, to compare lists as sets.
using Key = std::tuple<std::string, std::string, std::int64_t>;

std::set<Key> keys(const json::array& rows) {
    std::set<Key> out;
    for (const auto& row : rows) {
        const auto& artifact = row.as_object();
        out.emplace(id_text(artifact.at("task_id")), std::string(artifact.at("name").as_string()),
                    artifact.at("attempt_id").as_int64());
    }
    return out;
}

class ApiArtifacts : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();
    TaskRef task;

    void SetUp() override {
        at(kT0);
        task = make_task(client);  // HelloFlow/1/start/1
    }
    void at(std::int64_t ms) { server.clock().set_ms(ms); }
    json::array artifacts(const std::string& url) {
        auto r = client.get(url);
        expect_ok_json(r);
        expect_legacy_list(r);
        return array_of(r);
    }
    // Attempt 0 writes name + alpha at kT0 + 1 s, attempt 1 writes name + beta at kT0 + 2 s.
    void two_attempts(const TaskRef& of) {
        at(kT0 + 1000);
        ASSERT_EQ(post_artifacts(client, of, {artifact_item("name", 0), artifact_item("alpha", 0)}),
                  2);
        at(kT0 + 2000);
        ASSERT_EQ(post_artifacts(client, of, {artifact_item("name", 1), artifact_item("beta", 1)}),
                  2);
    }
};

// ---------------------------------------------------------------------------------------
// POST .../artifact

TEST_F(ApiArtifacts, PostAnswersTheCountWithoutVersionHeader) {
    auto r =
        client.post(task.url() + "/artifact", json::serialize(json::array{artifact_item("name")}));
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, R"({"artifacts_created": 1})");
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    expect_no_version_header(r);
    EXPECT_EQ(rows_in(server, "artifact_v3"), 1);
}

TEST_F(ApiArtifacts, DuplicatesAreSkippedAndNotCounted) {
    json::array batch{artifact_item("name"), artifact_item("alpha")};
    EXPECT_EQ(post_artifacts(client, task, batch), 2);
    auto again = client.post(task.url() + "/artifact", json::serialize(batch));
    EXPECT_EQ(again.status, 200u);
    EXPECT_EQ(again.body, R"({"artifacts_created": 0})");
    expect_no_version_header(again);
    // A partly new batch counts only the new item.
    auto changed = artifact_item("alpha");
    changed["location"] = "s3://elsewhere";
    EXPECT_EQ(post_artifacts(client, task, {changed, artifact_item("gamma")}), 1);
    EXPECT_EQ(rows_in(server, "artifact_v3"), 3);
    // The first write of a duplicate wins.
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha")["location"],
              "s3://bucket/alpha/0");
}

TEST_F(ApiArtifacts, DuplicateWithinOneBatchCountsOnce) {
    EXPECT_EQ(post_artifacts(client, task, {artifact_item("alpha"), artifact_item("alpha")}), 1);
    EXPECT_EQ(rows_in(server, "artifact_v3"), 1);
}

TEST_F(ApiArtifacts, ConcurrentDuplicatePostsCountEachArtifactOnce) {
    json::array batch;
    for (int i = 0; i < 10; ++i) batch.push_back(artifact_item("a" + std::to_string(i)));
    std::atomic<std::int64_t> created{0};
    run_concurrently(server, 4, [&](int, HttpClient& c) {
        auto r = c.post(task.url() + "/artifact", json::serialize(batch));
        EXPECT_EQ(r.status, 200u) << r.body;
        auto body = object_of(r);
        if (body.contains("artifacts_created")) created += body["artifacts_created"].as_int64();
    });
    EXPECT_EQ(created.load(), 10);
    EXPECT_EQ(rows_in(server, "artifact_v3"), 10);
}

TEST_F(ApiArtifacts, EachAttemptHasItsOwnCopy) {
    EXPECT_EQ(post_artifacts(client, task,
                             {artifact_item("alpha", 0), artifact_item("alpha", 1),
                              artifact_item("alpha", 32767)}),
              3);
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha/attempt/32767")["attempt_id"],
              32767);
}

TEST_F(ApiArtifacts, EmptyBatchCountsZero) {
    for (const char* body : {"[]", "{}"}) {
        auto r = client.post(task.url() + "/artifact", body);
        EXPECT_EQ(r.status, 200u) << body;
        EXPECT_EQ(r.body, R"({"artifacts_created": 0})") << body;
        expect_no_version_header(r);
    }
    EXPECT_EQ(rows_in(server, "artifact_v3"), 0);
}

TEST_F(ApiArtifacts, PostingToAnUnknownRunOrTaskIs400RegisterFirst) {
    create_step(client, "HelloFlow", "1", "end");
    RowCounts counts(server);
    for (const char* url : {"/flows/HelloFlow/runs/1/steps/start/tasks/2/artifact",
                            "/flows/HelloFlow/runs/1/steps/start/tasks/t-none/artifact",
                            "/flows/HelloFlow/runs/1/steps/end/tasks/1/artifact",
                            "/flows/HelloFlow/runs/2/steps/start/tasks/1/artifact",
                            "/flows/HelloFlow/runs/x/steps/start/tasks/1/artifact",
                            "/flows/NoSuchFlow/runs/1/steps/start/tasks/1/artifact"}) {
        auto r = client.post(url, json::serialize(json::array{artifact_item("name")}));
        expect_register_first(r);
    }
    counts.expect_unchanged("artifacts for unknown tasks");
}

// ---------------------------------------------------------------------------------------
// GET .../artifacts/{artifact_name} and .../attempt/{attempt_id}

TEST_F(ApiArtifacts, GetShowsEveryFieldWithRunTags) {
    at(kT0 + 3000);
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("alpha")}), 1);
    at(kT0 + 9000);
    auto r = client.get(task.url() + "/artifacts/alpha");
    expect_ok_json(r);
    auto artifact = object_of(r);
    expect_keys(artifact, kArtifactKeys);
    EXPECT_EQ(artifact["flow_id"], "HelloFlow");
    EXPECT_EQ(artifact["run_number"], 1);
    EXPECT_EQ(artifact["step_name"], "start");
    EXPECT_EQ(artifact["task_id"], 1);
    EXPECT_EQ(artifact["name"], "alpha");
    EXPECT_EQ(artifact["location"], "s3://bucket/alpha/0");
    EXPECT_EQ(artifact["ds_type"], "s3");
    EXPECT_EQ(artifact["sha"], "sha-alpha-0");
    EXPECT_EQ(artifact["type"], "metaflow.artifact");
    EXPECT_EQ(artifact["content_type"], "gzip+pickle-v4");
    EXPECT_EQ(artifact["user_name"], "alice");
    EXPECT_EQ(artifact["attempt_id"], 0);
    EXPECT_EQ(artifact["ts_epoch"], kT0 + 3000);
    // Grafted: the run's tags, not the posted item's.
    EXPECT_EQ(artifact["tags"], json::value(json::array{"team:ml"}));
    EXPECT_EQ(artifact["system_tags"], json::value(run_system_tags()));
    // The attempt route gives the same object.
    auto exact = client.get(task.url() + "/artifacts/alpha/attempt/0");
    expect_ok_json(exact);
    EXPECT_EQ(object_of(exact), artifact);
}

TEST_F(ApiArtifacts, MissingItemFieldsBecomeASpace) {
    ASSERT_EQ(post_artifacts(client, task, {json::object{}}), 1);
    auto artifact = get_object(client, task.url() + "/artifacts/%20");
    expect_keys(artifact, kArtifactKeys);
    for (const char* field :
         {"name", "location", "ds_type", "sha", "type", "content_type", "user_name"}) {
        EXPECT_EQ(artifact[field], " ") << field;
    }
    EXPECT_EQ(artifact["attempt_id"], 0);
}

TEST_F(ApiArtifacts, ExplicitNullsStayNull) {
    auto item = artifact_item("alpha");
    for (const char* field : {"sha", "type", "content_type", "user_name"}) item[field] = nullptr;
    ASSERT_EQ(post_artifacts(client, task, {item}), 1);
    auto artifact = get_object(client, task.url() + "/artifacts/alpha");
    for (const char* field : {"sha", "type", "content_type", "user_name"}) {
        EXPECT_TRUE(artifact[field].is_null()) << field;
    }
}

TEST_F(ApiArtifacts, LatestAttemptIsTheOneOfTheNameArtifact) {
    at(kT0 + 1000);
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("name", 0), artifact_item("alpha", 0)}),
              2);
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha")["attempt_id"], 0);
    at(kT0 + 2000);
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("name", 1), artifact_item("beta", 1)}),
              2);
    // alpha exists only in attempt 0, and attempt 1 wrote "name": 404 on the latest route.
    expect_not_found(client.get(task.url() + "/artifacts/alpha"));
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/beta")["attempt_id"], 1);
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/name")["attempt_id"], 1);
    // The attempt route still finds it.
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha/attempt/0")["attempt_id"], 0);
    expect_not_found(client.get(task.url() + "/artifacts/alpha/attempt/1"));
    expect_not_found(client.get(task.url() + "/artifacts/beta/attempt/0"));
}

TEST_F(ApiArtifacts, WithoutANameArtifactAttemptZeroIsLatest) {
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("alpha", 0), artifact_item("beta", 2)}),
              2);
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha")["attempt_id"], 0);
    // beta exists only in attempt 2, which no "name" artifact announced.
    expect_not_found(client.get(task.url() + "/artifacts/beta"));
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/beta/attempt/2")["attempt_id"], 2);
}

TEST_F(ApiArtifacts, NameOfAnotherTaskDoesNotCount) {
    auto other = sibling_task(client, task);
    ASSERT_EQ(post_artifacts(client, other, {artifact_item("name", 3)}), 1);
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("alpha", 0)}), 1);
    EXPECT_EQ(get_object(client, task.url() + "/artifacts/alpha")["attempt_id"], 0);
}

TEST_F(ApiArtifacts, GetMissingArtifactIs404) {
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("alpha")}), 1);
    for (const char* url :
         {"/flows/HelloFlow/runs/1/steps/start/tasks/1/artifacts/beta",
          "/flows/HelloFlow/runs/1/steps/start/tasks/2/artifacts/alpha",
          "/flows/HelloFlow/runs/1/steps/end/tasks/1/artifacts/alpha",
          "/flows/HelloFlow/runs/2/steps/start/tasks/1/artifacts/alpha",
          "/flows/NoSuchFlow/runs/1/steps/start/tasks/1/artifacts/alpha",
          "/flows/HelloFlow/runs/1/steps/start/tasks/1/artifacts/beta/attempt/0",
          "/flows/HelloFlow/runs/1/steps/start/tasks/1/artifacts/alpha/attempt/1",
          "/flows/HelloFlow/runs/1/steps/start/tasks/9/artifacts/alpha/attempt/0"}) {
        expect_not_found(client.get(url));
    }
}

TEST_F(ApiArtifacts, StringIdsAreExposed) {
    auto named = make_task(client, "HelloFlow", "start", run_body("argo-x"), task_body("t-9f2c"));
    ASSERT_EQ(post_artifacts(client, named, {artifact_item("name"), artifact_item("alpha")}), 2);
    auto numbered = TaskRef{"HelloFlow", "2", "start", "2"};
    for (const auto& ref : {named, numbered}) {
        for (const auto& url :
             {ref.url() + "/artifacts/alpha", ref.url() + "/artifacts/alpha/attempt/0"}) {
            auto artifact = get_object(client, url);
            EXPECT_EQ(artifact["run_number"], "argo-x") << url;
            EXPECT_EQ(artifact["task_id"], "t-9f2c") << url;
        }
        for (const auto& url : {ref.url() + "/artifacts", ref.url() + "/attempt/0/artifacts",
                                ref.step_url() + "/artifacts", ref.run_url() + "/artifacts",
                                ref.url() + "/artifacts?_limit=5"}) {
            auto rows = get_array(client, url);
            EXPECT_EQ(rows.size(), 2u) << url;
            for (const auto& row : rows) {
                EXPECT_EQ(row.as_object().at("run_number"), "argo-x") << url;
                EXPECT_EQ(row.as_object().at("task_id"), "t-9f2c") << url;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lists

TEST_F(ApiArtifacts, LegacyTaskListKeepsOnlyTheHighestAttempt) {
    two_attempts(task);
    auto rows = artifacts(task.url() + "/artifacts");
    EXPECT_EQ(keys(rows), (std::set<Key>{{"1", "name", 1}, {"1", "beta", 1}}));
    for (const auto& row : rows) {
        expect_keys(row.as_object(), kArtifactKeys);
        EXPECT_EQ(row.as_object().at("tags"), json::value(json::array{"team:ml"}));
    }
}

TEST_F(ApiArtifacts, LegacyTaskListUsesTheHighestAttemptOfAnyArtifact) {
    // Unlike the single read, the legacy list does not look at "name".
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("name", 0), artifact_item("late", 2)}),
              2);
    EXPECT_EQ(keys(artifacts(task.url() + "/artifacts")), (std::set<Key>{{"1", "late", 2}}));
}

TEST_F(ApiArtifacts, PagedTaskListKeepsTheNewestRowPerName) {
    two_attempts(task);
    auto r = client.get(task.url() + "/artifacts?_limit=10");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "10");
    EXPECT_FALSE(r.has_header("x-next-cursor"));
    auto rows = array_of(r);
    // alpha exists only in attempt 0 but is still listed; ordered ts, task, name descending.
    EXPECT_EQ(column(rows, "name"), (std::vector<std::string>{"name", "beta", "alpha"}));
    EXPECT_EQ(column(rows, "attempt_id"), (std::vector<std::string>{"1", "1", "0"}));
}

TEST_F(ApiArtifacts, AttemptListHasOnlyThatAttemptAndNoVersionHeader) {
    two_attempts(task);
    for (const auto& [attempt, expected] : std::vector<std::pair<std::string, std::set<Key>>>{
             {"0", {{"1", "name", 0}, {"1", "alpha", 0}}},
             {"1", {{"1", "name", 1}, {"1", "beta", 1}}},
             {"2", {}}}) {
        auto r = client.get(task.url() + "/attempt/" + attempt + "/artifacts");
        EXPECT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.header("content-type"), kTextPlain);
        expect_no_version_header(r);
        expect_legacy_list(r);
        auto rows = array_of(r);
        EXPECT_EQ(keys(rows), expected) << attempt;
        for (const auto& row : rows) {
            expect_keys(row.as_object(), kArtifactKeys);
            EXPECT_EQ(row.as_object().at("system_tags"), json::value(run_system_tags()));
        }
    }
}

TEST_F(ApiArtifacts, AttemptListIgnoresPagingParameters) {
    two_attempts(task);
    auto r = client.get(task.url() + "/attempt/0/artifacts?_limit=1");
    EXPECT_EQ(r.status, 200u);
    expect_legacy_list(r);
    EXPECT_EQ(array_of(r).size(), 2u);
}

TEST_F(ApiArtifacts, LegacyStepAndRunListsPickTheLatestAttemptPerTask) {
    two_attempts(task);                       // task 1: attempts 0 and 1
    auto other = sibling_task(client, task);  // task 2: attempt 0 only
    ASSERT_EQ(post_artifacts(client, other, {artifact_item("name", 0), artifact_item("gamma", 0)}),
              2);
    auto end = task_in_new_step(client, task, "end");  // task 3: attempt 2 only
    ASSERT_EQ(post_artifacts(client, end, {artifact_item("name", 2)}), 1);
    auto other_run = make_task(client);  // run 2, task 4: never listed
    ASSERT_EQ(post_artifacts(client, other_run, {artifact_item("name", 0)}), 1);

    std::set<Key> start = {{"1", "name", 1}, {"1", "beta", 1}, {"2", "name", 0}, {"2", "gamma", 0}};
    EXPECT_EQ(keys(artifacts(task.step_url() + "/artifacts")), start);
    auto whole_run = start;
    whole_run.insert({"3", "name", 2});
    EXPECT_EQ(keys(artifacts(task.run_url() + "/artifacts")), whole_run);
    EXPECT_EQ(keys(artifacts(end.step_url() + "/artifacts")), (std::set<Key>{{"3", "name", 2}}));
}

TEST_F(ApiArtifacts, PagedRunListWalksNewestRowPerTaskAndName) {
    two_attempts(task);  // task 1 at kT0+1s (attempt 0) and kT0+2s (attempt 1)
    auto other = sibling_task(client, task);
    at(kT0 + 1000);
    ASSERT_EQ(
        post_artifacts(client, other,
                       {artifact_item("name"), artifact_item("zeta"), artifact_item("alpha")}),
        3);
    auto end = task_in_new_step(client, task, "end");
    at(kT0 + 3000);
    ASSERT_EQ(post_artifacts(client, end, {artifact_item("name")}), 1);
    auto walk = walk_pages(client, task.run_url() + "/artifacts", 2);
    EXPECT_EQ(walk.pages, 4);
    // ts_epoch DESC, task_id DESC, name DESC; task 1 shows one row per name.
    std::vector<std::string> expected = {"3/name", "1/name",  "1/beta", "2/zeta",
                                         "2/name", "2/alpha", "1/alpha"};
    std::vector<std::string> got;
    for (const auto& row : walk.rows) {
        got.push_back(id_text(row.as_object().at("task_id")) + "/" +
                      std::string(row.as_object().at("name").as_string()));
    }
    EXPECT_EQ(got, expected);
    for (const auto& cursor : walk.cursors) {
        auto key = cursor_json(cursor);
        EXPECT_EQ(keys_of(key), (std::vector<std::string>{"ts_epoch", "task_id", "name"}));
        EXPECT_TRUE(key["task_id"].is_int64());
    }
    // The step list pages the same way over its own tasks.
    auto step_walk = walk_pages(client, task.step_url() + "/artifacts", 4);
    EXPECT_EQ(step_walk.pages, 2);
    EXPECT_EQ(column(step_walk.rows, "name"),
              (std::vector<std::string>{"name", "beta", "zeta", "name", "alpha", "alpha"}));
}

TEST_F(ApiArtifacts, ListsAreEmptyForMissingParents) {
    for (const char* url :
         {"/flows/HelloFlow/runs/1/steps/start/tasks/1/artifacts",
          "/flows/HelloFlow/runs/1/steps/start/tasks/7/artifacts",
          "/flows/HelloFlow/runs/1/steps/start/artifacts",
          "/flows/HelloFlow/runs/1/steps/nope/artifacts", "/flows/HelloFlow/runs/1/artifacts",
          "/flows/HelloFlow/runs/3/artifacts", "/flows/NoSuchFlow/runs/1/artifacts"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
    for (const char* url : {"/flows/HelloFlow/runs/1/steps/start/tasks/1/attempt/0/artifacts",
                            "/flows/NoSuchFlow/runs/1/steps/start/tasks/1/attempt/0/artifacts"}) {
        auto r = client.get(url);
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.body, "[]") << url;
        expect_no_version_header(r);
    }
}

TEST_F(ApiArtifacts, LimitZeroAndCap) {
    ASSERT_EQ(post_artifacts(client, task, {artifact_item("name")}), 1);
    for (const auto& url : {task.url() + "/artifacts", task.step_url() + "/artifacts",
                            task.run_url() + "/artifacts"}) {
        auto zero = client.get(url + "?_limit=0");
        expect_ok_json(zero);
        EXPECT_EQ(zero.body, "[]") << url;
        EXPECT_EQ(zero.header("x-limit"), "0");
        EXPECT_FALSE(zero.has_header("x-next-cursor"));
        auto big = client.get(url + "?_limit=600");
        EXPECT_EQ(big.header("x-limit"), "500") << url;
        EXPECT_EQ(array_of(big).size(), 1u) << url;
    }
}

TEST_F(ApiArtifacts, LongFieldsAtTheLimitAreAccepted) {
    auto item = artifact_item("alpha");
    item["location"] = std::string(255, 'l');
    std::string accented;
    for (int i = 0; i < 255; ++i) accented += "\xc3\xa9";  // 255 characters
    item["sha"] = accented;
    ASSERT_EQ(post_artifacts(client, task, {item}), 1);
    auto artifact = get_object(client, task.url() + "/artifacts/alpha");
    EXPECT_EQ(artifact["location"], std::string(255, 'l').c_str());
    EXPECT_EQ(artifact["sha"], accented.c_str());
}

}  // namespace
}  // namespace mf::testing::api
