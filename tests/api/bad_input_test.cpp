// Bad input on every route that reads a body, a query or a path parameter. Our deliberate
// differences from the reference: a client error is a 4xx with a JSON body (never the
// reference's 500), and nothing at all is written.

#include <gtest/gtest.h>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

struct Target {
    const char* method;
    std::string url;
};

class BadInput : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();
    TaskRef task;

    // HelloFlow/1/start/1 with some metadata and artifacts, so that "unchanged" means
    // something.
    void SetUp() override {
        server.clock().set_ms(kT0);
        task = make_task(client);
        ASSERT_EQ(post_metadata(client, task, {metadata_item("attempt", "0", "attempt")}), 1);
        ASSERT_EQ(post_artifacts(client, task, {artifact_item("name")}), 1);
    }

    // Routes that read a JSON object body; each would create something new if accepted.
    std::vector<Target> object_routes() const {
        return {{"POST", "/flows/NewFlow"},
                {"POST", "/flows/HelloFlow/run"},
                {"POST", task.run_url() + "/steps/newstep/step"},
                {"POST", task.step_url() + "/task"},
                {"PATCH", task.run_url() + "/tag/mutate"}};
    }
    // Routes that read a JSON array of items.
    std::vector<Target> batch_routes() const {
        return {{"POST", task.url() + "/metadata"}, {"POST", task.url() + "/artifact"}};
    }

    HttpResponse send(const Target& target, std::string_view body) {
        return client.request(target.method, target.url, body);
    }

    // A 4xx with a JSON body, and no table changed; tags are checked separately because
    // a mutation does not change row counts.
    void expect_rejected(const HttpResponse& r, unsigned status, const RowCounts& counts,
                         const std::string& what) {
        SCOPED_TRACE(what);
        expect_json_client_error(r, status);
        counts.expect_unchanged(what);
        expect_run_untouched();
    }

    void expect_run_untouched() {
        auto run = get_object(client, task.run_url());
        EXPECT_EQ(run["tags"], json::value(json::array{"team:ml"}));
    }

    // Metadata and artifact POSTs never carry the version header (docs/api.md#conventions).
    static bool is_batch(const Target& target) {
        return target.url.ends_with("/metadata") || target.url.ends_with("/artifact");
    }
};

// ---------------------------------------------------------------------------------------
// Bodies

TEST_F(BadInput, MalformedJsonIs400OnEveryBodyRoute) {
    RowCounts counts(server);
    auto routes = object_routes();
    for (const auto& t : batch_routes()) routes.push_back(t);
    for (const auto& target : routes) {
        for (const char* body : {"", "not json", "{", "{\"a\": 1,}", "[1,", "nul", "{'a': 1}",
                                 "{\"user_name\": \"x\"} trailing"}) {
            auto r = send(target, body);
            expect_rejected(r, 400, counts, target.url + " <- " + body);
            EXPECT_TRUE(r.json().is_string()) << r.body;
            if (is_batch(target)) {
                expect_no_version_header(r);
            } else {
                expect_version_header(r);
            }
            EXPECT_EQ(r.header("content-type"), kTextPlain);
        }
    }
}

TEST_F(BadInput, WrongBodyTypeOnObjectRoutesIs400) {
    RowCounts counts(server);
    for (const auto& target : object_routes()) {
        for (const char* body : {"[]", "[{}]", "\"x\"", "5", "null", "true"}) {
            expect_rejected(send(target, body), 400, counts, target.url + " <- " + body);
        }
    }
}

TEST_F(BadInput, WrongBodyTypeOnBatchRoutesIs400) {
    RowCounts counts(server);
    for (const auto& target : batch_routes()) {
        for (const char* body : {"\"x\"", "5", "null", "true", R"({"field_name": "a"})", "[1]",
                                 R"(["x"])", "[[]]", "[null]", R"([{"name": "ok"}, 3])"}) {
            auto r = send(target, body);
            expect_rejected(r, 400, counts, target.url + " <- " + body);
            expect_no_version_header(r);
        }
    }
}

TEST_F(BadInput, WronglyTypedFlowFields) {
    RowCounts counts(server);
    auto r = client.post("/flows/NewFlow", R"({"user_name": 5})");
    expect_rejected(r, 400, counts, "user_name 5");
    EXPECT_EQ(string_of(r), "'user_name' must be a string");
    for (const char* body :
         {R"({"user_name": ["x"]})", R"({"user_name": {}})", R"({"user_name": true})",
          R"({"tags": "x"})", R"({"tags": [1]})", R"({"tags": {"a": "b"}})",
          R"({"tags": ["ok", null]})", R"({"system_tags": "x"})", R"({"system_tags": [[]]})",
          R"({"system_tags": 3})"}) {
        auto bad = client.post("/flows/NewFlow", body);
        expect_rejected(bad, 400, counts, body);
        EXPECT_TRUE(bad.json().is_string()) << bad.body;
    }
}

TEST_F(BadInput, WronglyTypedRunFields) {
    RowCounts counts(server);
    for (const char* body :
         {R"({"user_name": 5})", R"({"run_number": 5})", R"({"run_number": true})",
          R"({"run_number": ["a"]})", R"({"run_number": {}})", R"({"tags": "x"})",
          R"({"tags": [1]})", R"({"system_tags": "metaflow_version:2.12.0"})",
          R"({"system_tags": [{"a": 1}]})"}) {
        expect_rejected(client.post("/flows/HelloFlow/run", body), 400, counts, body);
    }
}

TEST_F(BadInput, AllDigitRunIdIs400) {
    RowCounts counts(server);
    for (const char* id : {"123", "0", "1"}) {
        auto r =
            client.post("/flows/HelloFlow/run", json::serialize(json::object{{"run_number", id}}));
        expect_rejected(r, 400, counts, id);
        EXPECT_NE(string_of(r).find("may not be a numeric"), std::string::npos) << r.body;
    }
}

TEST_F(BadInput, OverlongRunIdIs400) {
    RowCounts counts(server);
    auto r = client.post("/flows/HelloFlow/run",
                         json::serialize(json::object{{"run_number", std::string(256, 'r')}}));
    expect_rejected(r, 400, counts, "256-character run id");
    // 255 is fine.
    auto ok = client.post("/flows/HelloFlow/run",
                          json::serialize(json::object{{"run_number", std::string(255, 'r')}}));
    EXPECT_EQ(ok.status, 200u) << ok.body;
}

TEST_F(BadInput, WronglyTypedStepFields) {
    RowCounts counts(server);
    for (const char* body :
         {R"({"user_name": 5})", R"({"user_name": []})", R"({"tags": "x"})", R"({"tags": [1]})",
          R"({"system_tags": [2]})", R"({"system_tags": {}})"}) {
        expect_rejected(client.post(task.run_url() + "/steps/newstep/step", body), 400, counts,
                        body);
    }
}

TEST_F(BadInput, OverlongStepNameIs400) {
    RowCounts counts(server);
    auto r = client.post(task.run_url() + "/steps/" + std::string(256, 's') + "/step", "{}");
    expect_rejected(r, 400, counts, "256-character step name");
}

TEST_F(BadInput, WronglyTypedTaskFields) {
    RowCounts counts(server);
    for (const char* body : {R"({"task_id": 5})", R"({"task_id": true})", R"({"task_id": ["t"]})",
                             R"({"user_name": 5})", R"({"user_name": []})", R"({"tags": "x"})",
                             R"({"tags": [1]})", R"({"system_tags": [2]})"}) {
        expect_rejected(client.post(task.step_url() + "/task", body), 400, counts, body);
    }
}

TEST_F(BadInput, AllDigitTaskIdIs400) {
    RowCounts counts(server);
    for (const char* id : {"123", "0", "1"}) {
        auto r =
            client.post(task.step_url() + "/task", json::serialize(json::object{{"task_id", id}}));
        expect_rejected(r, 400, counts, id);
        EXPECT_NE(string_of(r).find("provided task_name may not be a numeric"), std::string::npos)
            << r.body;
    }
}

TEST_F(BadInput, OverlongTaskIdIs400) {
    RowCounts counts(server);
    auto r = client.post(task.step_url() + "/task",
                         json::serialize(json::object{{"task_id", std::string(256, 't')}}));
    expect_rejected(r, 400, counts, "256-character task id");
}

TEST_F(BadInput, InvalidTagMutationBodies) {
    RowCounts counts(server);
    for (const char* body :
         {"", "[]", "\"x\"", "{", R"({"tags_to_add": "x"})", R"({"tags_to_remove": [1]})"}) {
        auto r = client.patch(task.run_url() + "/tag/mutate", body);
        expect_rejected(r, 400, counts, body);
        expect_version_header(r);
    }
}

TEST_F(BadInput, MetadataItemsThatCannotBeStored) {
    const std::string long_text(256, 'x');
    std::string long_accented;
    for (int i = 0; i < 256; ++i) long_accented += "\xc3\xa9";
    std::vector<json::object> bad_items;
    auto with = [&](const char* key, json::value value) {
        auto item = metadata_item("f", "v", "t");
        item[key] = std::move(value);
        bad_items.push_back(std::move(item));
    };
    with("value", json::object{{"a", 1}});
    with("value", json::array{json::object{}});
    with("value", nullptr);
    with("field_name", 5);
    with("field_name", json::string(long_text));
    with("field_name", json::string(long_accented));
    with("type", json::array{});
    with("type", json::string(long_text));
    with("user_name", 5);
    with("user_name", json::string(long_text));
    with("tags", "attempt_id:0");
    with("tags", json::array{0});
    with("system_tags", json::object{});
    RowCounts counts(server);
    for (const auto& bad : bad_items) {
        // The bad item comes last: the good ones before it must not be written either.
        json::array batch{metadata_item("good", "1", "t"), metadata_item("good", "2", "t"), bad};
        auto r = client.post(task.url() + "/metadata", json::serialize(batch));
        expect_rejected(r, 400, counts, json::serialize(bad));
        expect_no_version_header(r);
        EXPECT_TRUE(r.json().is_string()) << r.body;
    }
    EXPECT_EQ(get_array(client, task.url() + "/metadata").size(), 1u);
}

TEST_F(BadInput, ArtifactItemsThatCannotBeStored) {
    const std::string long_text(256, 'x');
    std::vector<json::object> bad_items;
    auto with = [&](const char* key, json::value value) {
        auto item = artifact_item("bad");
        item[key] = std::move(value);
        bad_items.push_back(std::move(item));
    };
    with("attempt_id", 32768);
    with("attempt_id", -1);
    with("attempt_id", "0");
    with("attempt_id", 1.5);
    with("attempt_id", nullptr);
    with("attempt_id", true);
    with("attempt_id", 4294967296);
    for (const char* field :
         {"name", "location", "ds_type", "sha", "type", "content_type", "user_name"}) {
        with(field, json::string(long_text));
        with(field, 7);
    }
    with("name", json::object{});
    with("tags", "x");
    with("tags", json::array{1});
    with("system_tags", json::array{nullptr});
    RowCounts counts(server);
    for (const auto& bad : bad_items) {
        json::array batch{artifact_item("new1"), artifact_item("new2"), bad};
        auto r = client.post(task.url() + "/artifact", json::serialize(batch));
        expect_rejected(r, 400, counts, json::serialize(bad));
        expect_no_version_header(r);
        EXPECT_TRUE(r.json().is_string()) << r.body;
    }
    expect_not_found(client.get(task.url() + "/artifacts/new1"));
}

TEST_F(BadInput, BadBatchForAnUnknownTaskWritesNothing) {
    RowCounts counts(server);
    for (const char* route : {"/metadata", "/artifact"}) {
        auto r = client.post(task.step_url() + "/tasks/99" + route, "[1]");
        expect_rejected(r, 400, counts, route);
        expect_no_version_header(r);
    }
}

TEST(BadInputLimits, BodyOverTheLimitIs413) {
    auto options = manual_clock_options();
    options.body_limit = 1024;
    TestServer server(options);
    auto client = server.client();
    auto task = make_task(client);
    RowCounts counts(server);
    std::string padding(2048, ' ');
    auto r = client.post("/flows/BigFlow", "{\"user_name\": \"x\"}" + padding);
    expect_json_client_error(r, 413);
    json::array batch;
    for (int i = 0; i < 40; ++i) batch.push_back(metadata_item("f" + std::to_string(i), "v", "t"));
    auto big = client.post(task.url() + "/metadata", json::serialize(batch));
    expect_json_client_error(big, 413);
    counts.expect_unchanged("oversized bodies");
    // The server keeps serving, and bodies under the limit are fine.
    auto fresh = server.client();
    EXPECT_EQ(fresh.get("/ping").body, "pong");
    EXPECT_EQ(fresh.post("/flows/SmallFlow", "{}").status, 200u);
}

TEST(BadInputLimits, BodyLimitBoundary) {
    auto options = manual_clock_options();
    options.body_limit = 100;
    TestServer server(options);
    auto client = server.client();
    std::string at_limit = R"({"user_name": "x"})";
    at_limit += std::string(100 - at_limit.size(), ' ');
    ASSERT_EQ(at_limit.size(), 100u);
    EXPECT_EQ(client.post("/flows/AtLimit", at_limit).status, 200u);
    RowCounts counts(server);
    auto over = client.post("/flows/OverLimit", at_limit + " ");
    expect_json_client_error(over, 413);
    counts.expect_unchanged("a body one byte over the limit");
}

// ---------------------------------------------------------------------------------------
// Paths and queries

TEST_F(BadInput, BadPercentEncodingInThePathIs400) {
    RowCounts counts(server);
    for (const char* url : {"/flows/%zz", "/flows/Hello%2", "/flows/Hello%", "/flows/%G0/runs"}) {
        expect_rejected(client.get(url), 400, counts, std::string("GET ") + url);
    }
    expect_rejected(client.post("/flows/New%zzFlow", "{}"), 400, counts, "POST flow");
    expect_rejected(client.post("/flows/HelloFlow/runs/1/steps/st%4/step", "{}"), 400, counts,
                    "POST step");
    auto metadata = client.post(task.run_url() + "/steps/start/tasks/%x1/metadata",
                                json::serialize(json::array{metadata_item("a", "b", "c")}));
    expect_rejected(metadata, 400, counts, "POST metadata");
}

TEST_F(BadInput, BadPercentEncodingInTheQueryIs400) {
    RowCounts counts(server);
    for (const std::string& url :
         {std::string("/flows?_limit=%zz"), std::string("/flows/HelloFlow/runs?user_name=%G1"),
          std::string("/flows/HelloFlow/runs?%=1"),
          task.step_url() + "/filtered_tasks?pattern=%"}) {
        expect_rejected(client.get(url), 400, counts, url);
    }
    auto r = client.post("/flows/NewFlow?x=%zz", "{}");
    expect_rejected(r, 400, counts, "POST flow with bad query");
}

TEST_F(BadInput, InvalidCursorIs400OnEveryPagedList) {
    const std::vector<std::string> lists = {
        "/flows",
        "/flows/HelloFlow/runs",
        task.step_url() + "/tasks",
        task.url() + "/metadata",
        task.run_url() + "/metadata",
        task.url() + "/artifacts",
        task.step_url() + "/artifacts",
        task.run_url() + "/artifacts",
    };
    const std::vector<std::string> cursors = {
        "!!!!",
        "eyJ0c19lcG9jaCI6",  // truncated JSON
        base64_encode("not json"),
        base64_encode("[1, 2]"),
        base64_encode("{}"),
        base64_encode("\xff\xfe{}"),
        base64_encode(R"({"flow_id": "x", "run_number": 1, "task_id": 1, "id": 1, "name": "n"})"),
        base64_encode(R"({"ts_epoch": "soon", "flow_id": "x", "run_number": 1, "task_id": 1,
                          "id": 1, "name": "n"})"),
        base64_encode(R"({"ts_epoch": null, "flow_id": "x", "run_number": 1, "task_id": 1,
                          "id": 1, "name": "n"})"),
        base64_encode(R"({"ts_epoch": 1})"),
    };
    RowCounts counts(server);
    for (const auto& list : lists) {
        for (const auto& cursor : cursors) {
            SCOPED_TRACE(list + " cursor " + cursor);
            auto r = client.get(list + "?_cursor=" + url_encode(cursor));
            expect_text_error(r, 400, "Invalid cursor");
            expect_version_header(r);
        }
    }
    counts.expect_unchanged("invalid cursors");
}

TEST_F(BadInput, CursorOfAnotherFamilyIsInvalid) {
    RowCounts counts(server);
    struct Case {
        std::string list;
        std::string cursor;  // JSON lacking (or mistyping) the list's own key
    };
    const std::vector<Case> cases = {
        {"/flows", R"({"ts_epoch": 1, "run_number": 1})"},
        {"/flows/HelloFlow/runs", R"({"ts_epoch": 1, "flow_id": "HelloFlow"})"},
        {"/flows/HelloFlow/runs", R"({"ts_epoch": 1, "run_number": "one"})"},
        {task.step_url() + "/tasks", R"({"ts_epoch": 1, "id": 1})"},
        {task.url() + "/metadata", R"({"ts_epoch": 1, "task_id": 1})"},
        {task.run_url() + "/metadata", R"({"ts_epoch": 1, "id": "x"})"},
        {task.url() + "/artifacts", R"({"ts_epoch": 1, "task_id": 1})"},     // no name
        {task.run_url() + "/artifacts", R"({"ts_epoch": 1, "name": "n"})"},  // no task_id
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.list + " " + c.cursor);
        auto r = client.get(c.list + "?_limit=5&_cursor=" + url_encode(base64_encode(c.cursor)));
        expect_text_error(r, 400, "Invalid cursor");
    }
    counts.expect_unchanged("cursors of another family");
}

TEST_F(BadInput, NegativeOrNonIntegerLimitIs400) {
    const std::vector<std::string> lists = {
        "/flows",
        "/flows/HelloFlow/runs",
        task.step_url() + "/tasks",
        task.url() + "/metadata",
        task.run_url() + "/metadata",
        task.url() + "/artifacts",
        task.step_url() + "/artifacts",
        task.run_url() + "/artifacts",
    };
    RowCounts counts(server);
    for (const auto& list : lists) {
        for (const char* limit : {"-1", "-50", "abc", "1.5", "1e3", "10x", "%20"}) {
            auto r = client.get(list + "?_limit=" + limit);
            expect_json_client_error(r, 400);
            EXPECT_TRUE(r.json().is_string()) << list << " _limit=" << limit << ": " << r.body;
            EXPECT_FALSE(r.has_header("x-limit"));
        }
    }
    counts.expect_unchanged("bad limits");
}

TEST_F(BadInput, RunFilterValidationTexts) {
    struct Case {
        std::string query;
        std::string text;
    };
    const std::vector<Case> cases = {
        {"status:xx=running", "unsupported operator 'xx' for field 'status'"},
        {"user_name:like=a", "unsupported operator 'like' for field 'user_name'"},
        {"ts_epoch:ge=abc", "invalid ts_epoch: expected integer epoch milliseconds, got 'abc'"},
        {"ts_epoch=1,2x", "invalid ts_epoch: expected integer epoch milliseconds, got '2x'"},
        {"last_heartbeat_ts=soon",
         "invalid last_heartbeat_ts: expected integer epoch milliseconds, got 'soon'"},
        {"status=bogus", "unsupported status filter: bogus"},
        {"status:eq=running,bogus", "unsupported status filter: bogus"},
        {"status=RUNNING", "unsupported status filter: RUNNING"},
    };
    RowCounts counts(server);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.query);
        auto r = client.get("/flows/HelloFlow/runs?" + c.query);
        expect_text_error(r, 400, c.text);
        expect_version_header(r);
    }
    counts.expect_unchanged("bad run filters");
}

TEST_F(BadInput, EmptyFilterOperatorIs400) {
    RowCounts counts(server);
    for (const std::string& url : {std::string("/flows/HelloFlow/runs?status:=running"),
                                   std::string("/flows/HelloFlow/runs?user_name:=alice"),
                                   task.step_url() + "/tasks?user_name:=alice"}) {
        auto r = client.get(url);
        expect_json_client_error(r, 400);
        EXPECT_TRUE(r.json().is_string()) << url << ": " << r.body;
    }
    counts.expect_unchanged("empty operators");
}

TEST_F(BadInput, TaskFilterValidationTexts) {
    RowCounts counts(server);
    struct Case {
        std::string query;
        std::string text;
    };
    const std::vector<Case> cases = {
        {"task_id:xx=1", "unsupported operator 'xx' for field 'task_id'"},
        {"ts_epoch=yesterday",
         "invalid ts_epoch: expected integer epoch milliseconds, got 'yesterday'"},
        {"last_heartbeat_ts:lt=x",
         "invalid last_heartbeat_ts: expected integer epoch milliseconds, got 'x'"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.query);
        auto r = client.get(task.step_url() + "/tasks?" + c.query);
        expect_text_error(r, 400, c.text);
    }
    counts.expect_unchanged("bad task filters");
}

TEST_F(BadInput, NonNumericAttemptInThePathIs400) {
    RowCounts counts(server);
    for (const char* attempt : {"x", "1a", "-1", "%20", "0x1"}) {
        auto single = client.get(task.url() + "/artifacts/name/attempt/" + attempt);
        expect_json_client_error(single, 400);
        expect_version_header(single);
        auto list = client.get(task.url() + "/attempt/" + attempt + "/artifacts");
        expect_json_client_error(list, 400);
        expect_no_version_header(list);
    }
    counts.expect_unchanged("bad attempts");
}

TEST_F(BadInput, NumbersTooLargeFor64BitsAreNotFound) {
    RowCounts counts(server);
    const std::string huge = "99999999999999999999999";
    expect_not_found(client.get(run_url("HelloFlow", huge)));
    expect_not_found(client.get(step_url("HelloFlow", huge, "start")));
    expect_not_found(client.get(task_url("HelloFlow", "1", "start", huge)));
    expect_not_found(client.get(task_url("HelloFlow", huge, "start", "1")));
    expect_not_found(client.get(task_url("HelloFlow", "1", "start", huge) + "/artifacts/name"));
    expect_not_found(client.patch(run_url("HelloFlow", huge) + "/tag/mutate", "{}"));
    for (const auto& url :
         {run_url("HelloFlow", huge) + "/steps", step_url("HelloFlow", huge, "start") + "/tasks",
          task_url("HelloFlow", "1", "start", huge) + "/metadata",
          run_url("HelloFlow", huge) + "/artifacts"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
    counts.expect_unchanged("huge ids");
}

}  // namespace
}  // namespace mf::testing::api
