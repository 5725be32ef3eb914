// The step routes: the step list, single step reads and step creation.

#include <gtest/gtest.h>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

class ApiSteps : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();

    void SetUp() override {
        at(kT0);
        create_flow(client, "HelloFlow");
        create_run(client, "HelloFlow");  // run 1: tags ["team:ml"], the client's system tags
    }
    void at(std::int64_t ms) { server.clock().set_ms(ms); }
};

TEST_F(ApiSteps, CreateReturnsTheStepWithRunTagsAndAStringRunNumber) {
    at(kT0 + 1000);
    // The Metaflow client's request (docs/api.md#steps).
    auto r = client.post("/flows/HelloFlow/runs/1/steps/start/step",
                         R"({"run_number": "1", "step_name": "ignored", "flow_id": "ignored",
                             "user_name": "alice", "tags": ["steptag"],
                             "system_tags": ["user:alice"], "ts_epoch": 5})");
    expect_ok_json(r);
    auto step = object_of(r);
    expect_keys(step, kStepKeys);
    EXPECT_EQ(step["flow_id"], "HelloFlow");
    EXPECT_EQ(step["run_number"], "1");  // a string, although the run is numeric
    EXPECT_EQ(step["step_name"], "start");
    EXPECT_EQ(step["user_name"], "alice");
    EXPECT_EQ(step["ts_epoch"], kT0 + 1000);
    // Grafted from the run; the step's own tags are never shown.
    EXPECT_EQ(step["tags"], json::value(json::array{"team:ml"}));
    EXPECT_EQ(step["system_tags"], json::value(run_system_tags()));
    EXPECT_EQ(rows_in(server, "steps_v3"), 1);
}

TEST_F(ApiSteps, UserNameDefaultsToEmptyString) {
    auto step = create_step(client, "HelloFlow", "1", "start");
    EXPECT_EQ(step["user_name"], "");
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/1/steps/start")["user_name"], "");
}

TEST_F(ApiSteps, ExplicitNullUserNameStaysNull) {
    auto step = create_step(client, "HelloFlow", "1", "start", {{"user_name", nullptr}});
    EXPECT_TRUE(step["user_name"].is_null());
}

TEST_F(ApiSteps, RunWithNullTagsGraftsNulls) {
    create_run(client, "HelloFlow", {{"user_name", "bob"}});  // run 2
    auto step = create_step(client, "HelloFlow", "2", "start",
                            {{"tags", json::array{"own"}}, {"system_tags", json::array{"own"}}});
    EXPECT_TRUE(step["tags"].is_null());
    EXPECT_TRUE(step["system_tags"].is_null());
}

TEST_F(ApiSteps, StepsOfAStringIdRunShowTheStringId) {
    create_run(client, "HelloFlow", run_body("argo-x"));  // run 2
    auto step = create_step(client, "HelloFlow", "argo-x", "start");
    EXPECT_EQ(step["run_number"], "argo-x");
    // Reachable through either key, always showing the string id.
    for (const char* key : {"argo-x", "2"}) {
        auto read = get_object(client, step_url("HelloFlow", key, "start"));
        EXPECT_EQ(read["run_number"], "argo-x") << key;
    }
    // Created through the numeric key, it still shows the string id.
    auto other = create_step(client, "HelloFlow", "2", "end");
    EXPECT_EQ(other["run_number"], "argo-x");
}

TEST_F(ApiSteps, DuplicateStepIs409) {
    create_step(client, "HelloFlow", "1", "start", {{"user_name", "first"}});
    auto r = client.post("/flows/HelloFlow/runs/1/steps/start/step", R"({"user_name": "second"})");
    expect_db_error(r, 409);
    expect_version_header(r);
    EXPECT_EQ(rows_in(server, "steps_v3"), 1);
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/1/steps/start")["user_name"], "first");
}

TEST_F(ApiSteps, DuplicateThroughTheOtherRunKeyIs409) {
    create_run(client, "HelloFlow", run_body("argo-x"));  // run 2
    create_step(client, "HelloFlow", "argo-x", "start");
    auto r = client.post("/flows/HelloFlow/runs/2/steps/start/step", "{}");
    expect_db_error(r, 409);
    EXPECT_EQ(rows_in(server, "steps_v3"), 1);
}

TEST_F(ApiSteps, SameStepNameInAnotherRunIsFine) {
    create_run(client, "HelloFlow");  // run 2
    create_step(client, "HelloFlow", "1", "start");
    auto step = create_step(client, "HelloFlow", "2", "start");
    EXPECT_EQ(step["run_number"], "2");
    EXPECT_EQ(rows_in(server, "steps_v3"), 2);
}

TEST_F(ApiSteps, CreateUnderMissingRunOrFlowIs404DoubleEncoded) {
    for (const char* url : {"/flows/HelloFlow/runs/2/steps/start/step",
                            "/flows/HelloFlow/runs/no-such-run/steps/start/step",
                            "/flows/NoSuchFlow/runs/1/steps/start/step",
                            "/flows/HelloFlow/runs/99999999999999999999999/steps/start/step"}) {
        auto r = client.post(url, R"({"user_name": "alice"})");
        expect_db_error(r, 404);
        expect_version_header(r);
        EXPECT_EQ(r.header("content-type"), kTextPlain);
    }
    EXPECT_EQ(rows_in(server, "steps_v3"), 0);
}

TEST_F(ApiSteps, GetReturnsTheStoredStep) {
    at(kT0 + 1000);
    auto created = create_step(client, "HelloFlow", "1", "start", {{"user_name", "alice"}});
    at(kT0 + 90'000);
    auto r = client.get("/flows/HelloFlow/runs/1/steps/start");
    expect_ok_json(r);
    auto step = object_of(r);
    expect_keys(step, kStepKeys);
    EXPECT_EQ(step, created);
}

TEST_F(ApiSteps, GetMissingStepIs404) {
    create_step(client, "HelloFlow", "1", "start");
    expect_not_found(client.get("/flows/HelloFlow/runs/1/steps/end"));
    expect_not_found(client.get("/flows/HelloFlow/runs/1/steps/START"));
    expect_not_found(client.get("/flows/HelloFlow/runs/2/steps/start"));
    expect_not_found(client.get("/flows/HelloFlow/runs/x/steps/start"));
    expect_not_found(client.get("/flows/OtherFlow/runs/1/steps/start"));
}

TEST_F(ApiSteps, ListIsSortedByStepNameInByteOrder) {
    for (const char* name : {"start", "end", "_parameters", "middle", "Zeta", "join"}) {
        create_step(client, "HelloFlow", "1", name);
    }
    auto r = client.get("/flows/HelloFlow/runs/1/steps");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto steps = array_of(r);
    EXPECT_EQ(column(steps, "step_name"),
              (std::vector<std::string>{"Zeta", "_parameters", "end", "join", "middle", "start"}));
    for (const auto& step : steps) {
        expect_keys(step.as_object(), kStepKeys);
        EXPECT_EQ(step.as_object().at("run_number"), "1");
        EXPECT_EQ(step.as_object().at("tags"), json::value(json::array{"team:ml"}));
    }
}

TEST_F(ApiSteps, ListHasOnlyTheStepsOfThatRun) {
    create_run(client, "HelloFlow", run_body("argo-x"));  // run 2
    create_step(client, "HelloFlow", "1", "start");
    create_step(client, "HelloFlow", "2", "start");
    create_step(client, "HelloFlow", "2", "end");
    for (const char* key : {"2", "argo-x"}) {
        auto steps = get_array(client, run_url("HelloFlow", key) + "/steps");
        EXPECT_EQ(column(steps, "step_name"), (std::vector<std::string>{"end", "start"})) << key;
        EXPECT_EQ(column(steps, "run_number"), (std::vector<std::string>{"argo-x", "argo-x"}));
    }
    EXPECT_EQ(get_array(client, "/flows/HelloFlow/runs/1/steps").size(), 1u);
}

TEST_F(ApiSteps, ListIsEmptyForMissingRunOrFlow) {
    for (const char* url : {"/flows/HelloFlow/runs/1/steps", "/flows/HelloFlow/runs/7/steps",
                            "/flows/NoSuchFlow/runs/1/steps"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
}

TEST_F(ApiSteps, ListHasNoPagination) {
    for (const char* name : {"a", "b", "c"}) create_step(client, "HelloFlow", "1", name);
    auto r = client.get("/flows/HelloFlow/runs/1/steps?_limit=1&_cursor=garbage");
    expect_ok_json(r);
    expect_legacy_list(r);
    EXPECT_EQ(array_of(r).size(), 3u);
}

TEST_F(ApiSteps, StepNameIsPercentDecoded) {
    auto step = create_step(client, "HelloFlow", "1", "my%20step");
    EXPECT_EQ(step["step_name"], "my step");
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/1/steps/my%20step")["step_name"],
              "my step");
}

}  // namespace
}  // namespace mf::testing::api
