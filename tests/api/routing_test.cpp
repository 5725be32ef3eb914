// docs/api.md#conventions: exact route matching, 404 and 405 replies, PATH_PREFIX, and which
// routes carry the METADATA_SERVICE_VERSION header.

#include <gtest/gtest.h>

#include <sstream>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

std::set<std::string> split_allow(const std::string& allow) {
    std::set<std::string> methods;
    std::stringstream in(allow);
    std::string method;
    while (std::getline(in, method, ',')) {
        while (!method.empty() && method.front() == ' ') method.erase(method.begin());
        while (!method.empty() && method.back() == ' ') method.pop_back();
        methods.insert(method);
    }
    return methods;
}

void expect_route_not_found(const HttpResponse& r, const std::string& what) {
    EXPECT_EQ(r.status, 404u) << what;
    EXPECT_EQ(r.body, "404: Not Found") << what;
    EXPECT_EQ(r.header("content-type"), kTextPlain) << what;
    EXPECT_FALSE(r.has_header(kVersionHeader)) << what;
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size())) << what;
}

void expect_method_not_allowed(const HttpResponse& r, const std::set<std::string>& allowed,
                               const std::string& what) {
    EXPECT_EQ(r.status, 405u) << what << ": " << r.body;
    EXPECT_EQ(r.body, "405: Method Not Allowed") << what;
    EXPECT_EQ(r.header("content-type"), kTextPlain) << what;
    EXPECT_FALSE(r.has_header(kVersionHeader)) << what;
    ASSERT_TRUE(r.has_header("allow")) << what;
    EXPECT_EQ(split_allow(r.header("allow")), allowed) << what << ": " << r.header("allow");
}

class Routing : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();
    TaskRef task;

    // HelloFlow/1/start/1 with an artifact and a metadata record.
    void SetUp() override {
        server.clock().set_ms(kT0);
        task = make_task(client);
        ASSERT_EQ(post_artifacts(client, task, {artifact_item("name")}), 1);
        ASSERT_EQ(post_metadata(client, task, {metadata_item("attempt", "0", "attempt")}), 1);
    }
};

TEST_F(Routing, UnknownPathsAre404PlainText) {
    for (const std::string& path :
         {std::string("/"), std::string("/nope"), std::string("/flowsX"), std::string("/FLOWS"),
          std::string("/flows/HelloFlow/unknown"),
          std::string("/flows/HelloFlow/runs/1/steps"
                      "/start/tasks/1/extra"),
          task.url() + "/artifacts/name/attempt/0/more", task.url() + "/attempt/0",
          std::string("/api/ping"), std::string("/ping/pong")}) {
        expect_route_not_found(client.get(path), "GET " + path);
        expect_route_not_found(client.post(path, "{}"), "POST " + path);
    }
}

TEST_F(Routing, TrailingSlashesAndEmptySegmentsAre404) {
    RowCounts counts(server);
    for (const std::string& path :
         {std::string("/ping/"), std::string("/flows/"), std::string("/flows/HelloFlow/"),
          std::string("/flows/HelloFlow/runs/"), std::string("/flows/HelloFlow/runs/1/"),
          std::string("/flows/HelloFlow/run/"), task.url() + "/", task.url() + "/metadata/",
          task.url() + "/artifacts/", std::string("//flows"), std::string("/flows//runs"),
          std::string("/flows/HelloFlow/runs//steps"), std::string("/flows/HelloFlow//")}) {
        expect_route_not_found(client.get(path), "GET " + path);
        expect_route_not_found(client.post(path, "{}"), "POST " + path);
        expect_route_not_found(client.patch(path, "{}"), "PATCH " + path);
    }
    counts.expect_unchanged("requests to unrouted paths");
}

TEST_F(Routing, WrongMethodIs405WithAllow) {
    struct Case {
        const char* method;
        std::string path;
        std::set<std::string> allowed;
    };
    const std::string run = task.run_url();
    const std::string step = task.step_url();
    const std::string t = task.url();
    const std::vector<Case> cases = {
        {"PUT", "/flows/HelloFlow", {"GET", "POST"}},
        {"DELETE", "/flows/HelloFlow", {"GET", "POST"}},
        {"PATCH", "/flows/NewFlow", {"GET", "POST"}},
        {"POST", "/flows", {"GET"}},
        {"OPTIONS", "/ping", {"GET"}},
        {"DELETE", "/healthcheck", {"GET"}},
        {"GET", "/flows/HelloFlow/run", {"POST"}},
        {"PATCH", run, {"GET"}},
        {"POST", run, {"GET"}},
        {"GET", run + "/heartbeat", {"POST"}},
        {"GET", run + "/tag/mutate", {"PATCH"}},
        {"POST", run + "/tag/mutate", {"PATCH"}},
        {"POST", run + "/steps", {"GET"}},
        {"POST", step, {"GET"}},
        {"GET", step + "/step", {"POST"}},
        {"POST", step + "/tasks", {"GET"}},
        {"POST", step + "/filtered_tasks", {"GET"}},
        {"GET", step + "/task", {"POST"}},
        {"POST", t, {"GET"}},
        {"GET", t + "/heartbeat", {"POST"}},
        {"PUT", t + "/metadata", {"GET", "POST"}},
        {"DELETE", run + "/metadata", {"GET"}},
        {"GET", t + "/artifact", {"POST"}},
        {"POST", t + "/artifacts", {"GET"}},
        {"POST", t + "/artifacts/name", {"GET"}},
        {"POST", t + "/artifacts/name/attempt/0", {"GET"}},
        {"POST", t + "/attempt/0/artifacts", {"GET"}},
        {"PUT", step + "/artifacts", {"GET"}},
        {"PUT", run + "/artifacts", {"GET"}},
    };
    RowCounts counts(server);
    for (const auto& c : cases) {
        auto r = client.request(c.method, c.path, "{}");
        expect_method_not_allowed(r, c.allowed, std::string(c.method) + " " + c.path);
    }
    counts.expect_unchanged("405s");
}

TEST_F(Routing, QueryStringDoesNotAffectMatching) {
    expect_ok_json(client.get("/flows/HelloFlow?x=1&y"));
    expect_ok_json(client.get("/flows/HelloFlow?"));
    expect_route_not_found(client.get("/flows/?x=1"), "trailing slash with query");
}

TEST_F(Routing, RoutesWithoutPagingIgnoreTheQueryString) {
    // Only the routes listed in docs/api.md#pagination read _limit/_cursor; elsewhere bad values
    // are ignored.
    const std::string bad = "?_limit=-5&_cursor=!!!&status=bogus&ts_epoch=x";
    const std::string t = task.url();
    for (const auto& url :
         {std::string("/flows/HelloFlow"), task.run_url(), task.step_url(), t,
          t + "/artifacts/name", t + "/artifacts/name/attempt/0", t + "/attempt/0/artifacts",
          task.run_url() + "/steps", task.step_url() + "/filtered_tasks"}) {
        auto r = client.get(url + bad);
        EXPECT_EQ(r.status, 200u) << url << ": " << r.body;
        expect_legacy_list(r);
    }
    server.clock().set_ms(kT0 + 60'000);
    // Heartbeats first: creating a task refreshes the run's heartbeat.
    for (const auto& url : {task.run_url() + "/heartbeat", t + "/heartbeat",
                            std::string("/flows/Other"), std::string("/flows/HelloFlow/run"),
                            task.run_url() + "/steps/s2/step", task.step_url() + "/task"}) {
        auto r = client.post(url + bad, "{}");
        EXPECT_EQ(r.status, 200u) << url << ": " << r.body;
    }
    auto m = client.post(t + "/metadata" + bad, "[]");
    EXPECT_EQ(m.status, 200u) << m.body;
    auto a = client.post(t + "/artifact" + bad, "[]");
    EXPECT_EQ(a.status, 200u) << a.body;
    auto p = client.patch(task.run_url() + "/tag/mutate" + bad, "{}");
    EXPECT_EQ(p.status, 200u) << p.body;
}

TEST_F(Routing, ParametersArePercentDecodedButLiteralSegmentsAreNot) {
    // %31 is "1": the numeric key of run 1.
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/%31")["run_number"], 1);
    EXPECT_EQ(get_object(client, "/flows/Hello%46low")["flow_id"], "HelloFlow");
    auto named = create_run(client, "HelloFlow", run_body("a b+c"));
    EXPECT_EQ(named["run_number"], "a b+c");
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/a%20b%2Bc")["run_number"], "a b+c");
    // In a path, "+" is a plus, not a space.
    EXPECT_EQ(get_object(client, "/flows/HelloFlow/runs/a%20b+c")["run_number"], "a b+c");
    expect_route_not_found(client.get("/flow%73/HelloFlow"), "encoded literal");
    expect_route_not_found(client.get("/flows/HelloFlow/run%73/1"), "encoded literal");
}

TEST_F(Routing, AllThirtyRoutesAnswerWithTheRightVersionHeader) {
    struct Case {
        const char* method;
        std::string path;
        std::string body;
        unsigned status;
        bool version_header;
    };
    const std::string run = task.run_url();
    const std::string step = task.step_url();
    const std::string t = task.url();
    const std::string metadata = json::serialize(json::array{metadata_item("x", "y", "z")});
    const std::string artifacts = json::serialize(json::array{artifact_item("other")});
    server.clock().set_ms(kT0 + 60'000);  // heartbeats are due
    const std::vector<Case> cases = {
        {"GET", "/ping", "", 200, true},
        {"GET", "/version", "", 200, false},
        {"GET", "/healthcheck", "", 200, true},
        {"GET", "/auth/token", "", 500, false},
        {"GET", "/flows", "", 200, true},
        {"GET", "/flows/HelloFlow", "", 200, true},
        {"POST", "/flows/NewFlow", "{}", 200, true},
        {"GET", "/flows/HelloFlow/runs", "", 200, true},
        {"GET", run, "", 200, true},
        {"POST", "/flows/HelloFlow/run", "{}", 200, true},
        {"POST", run + "/heartbeat", "{}", 200, true},
        {"PATCH", run + "/tag/mutate", R"({"tags_to_add": ["t"]})", 200, true},
        {"GET", run + "/steps", "", 200, true},
        {"GET", step, "", 200, true},
        {"POST", run + "/steps/newstep/step", "{}", 200, true},
        {"GET", step + "/tasks", "", 200, true},
        {"GET", step + "/filtered_tasks", "", 200, true},
        {"GET", t, "", 200, true},
        {"POST", step + "/task", "{}", 200, true},
        {"POST", t + "/heartbeat", "{}", 200, true},
        {"GET", t + "/metadata", "", 200, true},
        {"GET", run + "/metadata", "", 200, true},
        {"POST", t + "/metadata", metadata, 200, false},
        {"GET", t + "/artifacts/name", "", 200, true},
        {"GET", t + "/artifacts/name/attempt/0", "", 200, true},
        {"GET", t + "/artifacts", "", 200, true},
        {"GET", t + "/attempt/0/artifacts", "", 200, false},
        {"GET", step + "/artifacts", "", 200, true},
        {"GET", run + "/artifacts", "", 200, true},
        {"POST", t + "/artifact", artifacts, 200, false},
    };
    ASSERT_EQ(cases.size(), 30u);
    for (const auto& c : cases) {
        std::string what = std::string(c.method) + " " + c.path;
        auto r = client.request(c.method, c.path, c.body);
        EXPECT_EQ(r.status, c.status) << what << ": " << r.body;
        EXPECT_EQ(r.has_header(kVersionHeader), c.version_header) << what;
        if (c.version_header) {
            EXPECT_EQ(r.header(kVersionHeader), kServiceVersion) << what;
        }
        EXPECT_EQ(r.header("content-type"),
                  c.path == "/healthcheck" ? "application/json" : kTextPlain)
            << what;
        EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size())) << what;
        EXPECT_FALSE(r.has_header("transfer-encoding")) << what;
        if (c.path != "/ping" && c.path != "/version") {
            boost::system::error_code ec;
            json::parse(r.body, ec);
            EXPECT_FALSE(ec) << what << " body is not JSON: " << r.body;
        }
    }
}

TEST_F(Routing, VersionHeaderOnErrorReplies) {
    struct Case {
        const char* method;
        std::string path;
        std::string body;
        unsigned status;
        bool version_header;
    };
    const std::string run = task.run_url();
    const std::string t = task.url();
    const std::string missing_task = task.step_url() + "/tasks/99";
    const std::vector<Case> cases = {
        // Never the header on these routes, at any status (docs/api.md#conventions).
        {"POST", missing_task + "/metadata", "[]", 400, false},
        {"POST", missing_task + "/artifact", "[]", 400, false},
        {"POST", t + "/metadata", "not json", 400, false},
        {"POST", t + "/artifact", "[1]", 400, false},
        {"GET", t + "/attempt/x/artifacts", "", 400, false},
        {"GET", "/auth/token", "", 500, false},
        // Framework-level replies.
        {"GET", "/no/such/route", "", 404, false},
        {"DELETE", "/flows/HelloFlow", "", 405, false},
        // Everything else keeps it.
        {"GET", "/flows/NoSuchFlow", "", 404, true},
        {"POST", "/flows/HelloFlow", "{}", 409, true},
        {"POST", "/flows/NoSuchFlow/run", "{}", 404, true},
        {"POST", "/flows/HelloFlow/runs/77/steps/s/step", "{}", 404, true},
        {"GET", "/flows/HelloFlow/runs?status=bogus", "", 400, true},
        {"GET", "/flows?_cursor=bad", "", 400, true},
        {"PATCH", run + "/tag/mutate", R"({"tags_to_remove": ["runtime:dev"]})", 422, true},
        {"PATCH", run + "/tag/mutate", R"({"tags_to_add": 1})", 400, true},
        {"POST", run + "/heartbeat", "{}", 404, true},
        {"POST", t + "/heartbeat", "{}", 404, true},
        {"GET", t + "/artifacts/nope", "", 404, true},
        {"GET", t + "/artifacts/name/attempt/x", "", 400, true},
        {"POST", "/flows/HelloFlow/run", R"({"run_number": "12"})", 400, true},
    };
    for (const auto& c : cases) {
        std::string what = std::string(c.method) + " " + c.path;
        auto r = client.request(c.method, c.path, c.body);
        EXPECT_EQ(r.status, c.status) << what << ": " << r.body;
        EXPECT_EQ(r.has_header(kVersionHeader), c.version_header) << what;
        EXPECT_EQ(r.header("content-type"), kTextPlain) << what;
    }
}

TEST_F(Routing, ConnectionSurvivesErrors) {
    // One kept-alive connection through 404, 405, 400 and 500 replies.
    EXPECT_EQ(client.get("/nope").status, 404u);
    EXPECT_EQ(client.request("PUT", "/flows/HelloFlow", "{}").status, 405u);
    EXPECT_EQ(client.post("/flows/X", "not json").status, 400u);
    EXPECT_EQ(client.get("/auth/token").status, 500u);
    EXPECT_EQ(client.get("/ping").body, "pong");
}

// ---------------------------------------------------------------------------------------
// PATH_PREFIX

class RoutingPrefix : public ::testing::Test {
protected:
    static TestServerOptions prefixed() {
        auto options = manual_clock_options();
        options.path_prefix = "/api";
        return options;
    }
    TestServer server{prefixed()};
    HttpClient client = server.client();
};

TEST_F(RoutingPrefix, RoutesAreServedOnlyUnderThePrefix) {
    auto ping = client.get("/api/ping");
    EXPECT_EQ(ping.status, 200u);
    EXPECT_EQ(ping.body, "pong");
    expect_version_header(ping);
    EXPECT_EQ(client.get("/api/version").body, kServiceVersion);
    EXPECT_EQ(client.get("/api/healthcheck").status, 200u);
    expect_route_not_found(client.get("/ping"), "/ping without prefix");
    expect_route_not_found(client.get("/version"), "/version without prefix");
    expect_route_not_found(client.get("/flows"), "/flows without prefix");
}

TEST_F(RoutingPrefix, TheWholeApiWorksUnderThePrefix) {
    RowCounts before(server);
    expect_route_not_found(client.post("/flows/HelloFlow", "{}"), "POST flow without prefix");
    before.expect_unchanged("POST without the prefix");

    auto flow = client.post("/api/flows/HelloFlow", "{}");
    expect_ok_json(flow);
    auto run = client.post("/api/flows/HelloFlow/run", json::serialize(run_body()));
    expect_ok_json(run);
    EXPECT_EQ(object_of(run)["run_number"], 1);
    expect_ok_json(client.post("/api/flows/HelloFlow/runs/1/steps/start/step", "{}"));
    expect_ok_json(client.post("/api/flows/HelloFlow/runs/1/steps/start/task", "{}"));
    auto metadata = client.post("/api/flows/HelloFlow/runs/1/steps/start/tasks/1/metadata",
                                json::serialize(json::array{metadata_item("a", "b", "c")}));
    EXPECT_EQ(metadata.body, R"({"metadata_created": 1})");
    auto artifact = client.post("/api/flows/HelloFlow/runs/1/steps/start/tasks/1/artifact",
                                json::serialize(json::array{artifact_item("name")}));
    EXPECT_EQ(artifact.body, R"({"artifacts_created": 1})");
    EXPECT_EQ(get_array(client, "/api/flows").size(), 1u);
    EXPECT_EQ(get_object(client,
                         "/api/flows/HelloFlow/runs/1/steps/start/tasks/1/artifacts/name")["name"],
              "name");
    EXPECT_EQ(get_array(client, "/api/flows/HelloFlow/runs/1/metadata").size(), 1u);
    auto counts = server.row_counts();
    EXPECT_EQ(counts["flows_v3"], 1);
    EXPECT_EQ(counts["artifact_v3"], 1);
    expect_route_not_found(client.get("/flows/HelloFlow"), "GET flow without prefix");
}

TEST_F(RoutingPrefix, PrefixMustBeAWholeSegment) {
    for (const char* path : {"/apiping", "/api", "/api/", "/api/ping/", "/api/api/ping",
                             "/API/ping", "/ap/ping", "/api/flows/", "//api/ping"}) {
        expect_route_not_found(client.get(path), path);
    }
}

TEST_F(RoutingPrefix, MethodNotAllowedUnderThePrefix) {
    expect_method_not_allowed(client.post("/api/flows", "{}"), {"GET"}, "POST /api/flows");
    expect_method_not_allowed(client.request("PUT", "/api/flows/F", "{}"), {"GET", "POST"},
                              "PUT /api/flows/F");
    // Without the prefix the path is unknown, not a wrong method.
    expect_route_not_found(client.post("/flows", "{}"), "POST /flows");
}

}  // namespace
}  // namespace mf::testing::api
