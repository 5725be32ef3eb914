// The metadata routes: posting task metadata and listing it per task and per run.

#include <gtest/gtest.h>

#include <algorithm>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

class ApiMetadata : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();
    TaskRef task;

    void SetUp() override {
        at(kT0);
        task = make_task(client);  // HelloFlow/1/start/1
    }
    void at(std::int64_t ms) { server.clock().set_ms(ms); }
    json::array task_metadata(const TaskRef& of) {
        return get_array(client, of.url() + "/metadata");
    }
};

TEST_F(ApiMetadata, PostAnswersTheCountWithoutVersionHeader) {
    // The Metaflow client's request (docs/api.md#metadata).
    auto r = client.post(task.url() + "/metadata", R"([
        {"flow_id": "HelloFlow", "run_number": "1", "step_name": "start", "task_id": "1",
         "field_name": "attempt", "type": "attempt", "value": "0", "tags": ["attempt_id:0"],
         "user_name": "alice", "ts_epoch": 1718000002100},
        {"flow_id": "HelloFlow", "run_number": "1", "step_name": "start", "task_id": 1,
         "field_name": "runtime", "type": "runtime", "value": "dev", "tags": ["attempt_id:0"],
         "user_name": "alice", "ts_epoch": 1718000002100}])");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, R"({"metadata_created": 2})");
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    expect_no_version_header(r);
    EXPECT_EQ(rows_in(server, "metadata_v3"), 2);
}

TEST_F(ApiMetadata, ListShowsEveryFieldWithTheRecordsOwnTags) {
    at(kT0 + 2100);
    ASSERT_EQ(post_metadata(client, task, {metadata_item("attempt", "0", "attempt")}), 1);
    auto r = client.get(task.url() + "/metadata");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto rows = array_of(r);
    ASSERT_EQ(rows.size(), 1u);
    auto record = rows[0].as_object();
    expect_keys(record, kMetadataKeys);
    EXPECT_TRUE(record["id"].is_int64());
    EXPECT_EQ(record["flow_id"], "HelloFlow");
    EXPECT_EQ(record["run_number"], 1);
    EXPECT_EQ(record["step_name"], "start");
    EXPECT_EQ(record["task_id"], 1);
    EXPECT_EQ(record["field_name"], "attempt");
    EXPECT_EQ(record["value"], "0");
    EXPECT_EQ(record["type"], "attempt");
    EXPECT_EQ(record["user_name"], "alice");
    EXPECT_EQ(record["ts_epoch"], kT0 + 2100);
    // Not grafted: the record's own tags, and its own (absent) system tags.
    EXPECT_EQ(record["tags"], json::value(json::array{"attempt_id:0"}));
    EXPECT_TRUE(record["system_tags"].is_null());
}

TEST_F(ApiMetadata, TagsAreNeverGraftedEvenAfterTagMutation) {
    auto item = metadata_item("runtime", "dev", "runtime");
    item["system_tags"] = json::array{"own-system"};
    ASSERT_EQ(post_metadata(client, task, {item, metadata_item("x", "y", "z")}), 2);
    auto m = client.patch(task.run_url() + "/tag/mutate", R"({"tags_to_add": ["new"]})");
    ASSERT_EQ(m.status, 200u) << m.body;
    auto rows = task_metadata(task);
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& row : rows) {
        EXPECT_EQ(row.as_object().at("tags"), json::value(json::array{"attempt_id:0"}));
    }
    // Newest first: ids descending within the same timestamp.
    EXPECT_TRUE(rows[0].as_object().at("system_tags").is_null());
    EXPECT_EQ(rows[1].as_object().at("system_tags"), json::value(json::array{"own-system"}));
}

TEST_F(ApiMetadata, MissingItemFieldsBecomeASpaceOrNull) {
    ASSERT_EQ(post_metadata(client, task, {json::object{}}), 1);
    auto rows = task_metadata(task);
    ASSERT_EQ(rows.size(), 1u);
    auto record = rows[0].as_object();
    expect_keys(record, kMetadataKeys);
    EXPECT_EQ(record["field_name"], " ");
    EXPECT_EQ(record["value"], " ");
    EXPECT_EQ(record["type"], " ");
    EXPECT_TRUE(record["user_name"].is_null());
    EXPECT_TRUE(record["tags"].is_null());
    EXPECT_TRUE(record["system_tags"].is_null());
}

TEST_F(ApiMetadata, NonStringValuesAreStoredAsText) {
    const std::vector<std::pair<json::value, std::string>> cases = {
        {5, "5"},
        {-12, "-12"},
        {true, "true"},
        {false, "false"},
        {json::array{"items=7"}, "{items=7}"},
        {json::array{"outer_items=a", "inner_items=1"}, "{outer_items=a,inner_items=1}"},
        {json::array{"a b"}, R"({"a b"})"},
        {json::array{}, "{}"},
        {json::array{"x", "q\"uote"}, R"({x,"q\"uote"})"},
        {"", ""},
    };
    json::array items;
    for (const auto& [value, text] : cases) items.push_back(metadata_item(text, value, "t"));
    ASSERT_EQ(post_metadata(client, task, items), static_cast<std::int64_t>(cases.size()));
    for (const auto& row : task_metadata(task)) {
        const auto& record = row.as_object();
        EXPECT_EQ(record.at("value"), record.at("field_name"));
        EXPECT_TRUE(record.at("value").is_string());
    }
}

TEST_F(ApiMetadata, IgnoredItemFieldsMayHaveAnyType) {
    auto a = metadata_item("a", "1", "t");
    a["flow_id"] = 5;
    a["run_number"] = nullptr;
    a["step_name"] = json::array{};
    a["task_id"] = "999";
    a["ts_epoch"] = "not a time";
    a["unknown"] = json::object{{"x", 1}};
    auto b = metadata_item("b", "2", "t");
    b["task_id"] = 77;
    ASSERT_EQ(post_metadata(client, task, {a, b}), 2);
    for (const auto& row : task_metadata(task)) {
        const auto& record = row.as_object();
        EXPECT_EQ(record.at("flow_id"), "HelloFlow");
        EXPECT_EQ(record.at("run_number"), 1);
        EXPECT_EQ(record.at("step_name"), "start");
        EXPECT_EQ(record.at("task_id"), 1);
        EXPECT_EQ(record.at("ts_epoch"), kT0);
    }
}

TEST_F(ApiMetadata, EveryPostAppends) {
    json::array batch{metadata_item("attempt", "0", "attempt"),
                      metadata_item("runtime", "dev", "runtime")};
    EXPECT_EQ(post_metadata(client, task, batch), 2);
    EXPECT_EQ(post_metadata(client, task, batch), 2);
    auto rows = task_metadata(task);
    EXPECT_EQ(rows.size(), 4u);
    auto ids = column(rows, "id");
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u);
    EXPECT_EQ(rows_in(server, "metadata_v3"), 4);
}

TEST_F(ApiMetadata, EmptyBatchCountsZero) {
    for (const char* body : {"[]", "{}"}) {
        auto r = client.post(task.url() + "/metadata", body);
        EXPECT_EQ(r.status, 200u) << body;
        EXPECT_EQ(r.body, R"({"metadata_created": 0})") << body;
        expect_no_version_header(r);
    }
    EXPECT_EQ(rows_in(server, "metadata_v3"), 0);
}

TEST_F(ApiMetadata, StringIdsAreExposed) {
    auto named = make_task(client, "HelloFlow", "start", run_body("argo-x"), task_body("t-9f2c"));
    ASSERT_EQ(post_metadata(client, named, {metadata_item("attempt", "0", "attempt")}), 1);
    // Through the string ids and through the numbers (run 2, task 2).
    for (const auto& url : {named.url(), task_url("HelloFlow", "2", "start", "2")}) {
        auto rows = get_array(client, url + "/metadata");
        ASSERT_EQ(rows.size(), 1u) << url;
        EXPECT_EQ(rows[0].as_object().at("run_number"), "argo-x");
        EXPECT_EQ(rows[0].as_object().at("task_id"), "t-9f2c");
    }
    auto run_rows = get_array(client, run_url("HelloFlow", "argo-x") + "/metadata");
    ASSERT_EQ(run_rows.size(), 1u);
    EXPECT_EQ(run_rows[0].as_object().at("run_number"), "argo-x");
}

TEST_F(ApiMetadata, PostingToAnUnknownRunOrTaskIs400RegisterFirst) {
    create_step(client, "HelloFlow", "1", "end");
    RowCounts counts(server);
    for (const char* url :
         {"/flows/HelloFlow/runs/1/steps/start/tasks/2/metadata",
          "/flows/HelloFlow/runs/1/steps/start/tasks/t-none/metadata",
          "/flows/HelloFlow/runs/1/steps/end/tasks/1/metadata",
          "/flows/HelloFlow/runs/1/steps/nope/tasks/1/metadata",
          "/flows/HelloFlow/runs/2/steps/start/tasks/1/metadata",
          "/flows/HelloFlow/runs/argo/steps/start/tasks/1/metadata",
          "/flows/NoSuchFlow/runs/1/steps/start/tasks/1/metadata",
          "/flows/HelloFlow/runs/1/steps/start/tasks/99999999999999999999999/metadata"}) {
        auto r = client.post(url, json::serialize(json::array{metadata_item("a", "b", "c")}));
        expect_register_first(r);
        EXPECT_EQ(r.header("content-type"), kTextPlain) << url;
    }
    counts.expect_unchanged("metadata for unknown tasks");
}

TEST_F(ApiMetadata, TaskListIsNewestFirst) {
    at(kT0 + 10);
    ASSERT_EQ(
        post_metadata(client, task, {metadata_item("a1", "", "t"), metadata_item("a2", "", "t")}),
        2);
    at(kT0 + 30);
    ASSERT_EQ(post_metadata(client, task, {metadata_item("c", "", "t")}), 1);
    at(kT0 + 20);  // a clock step back: order is by ts_epoch, not by id
    ASSERT_EQ(post_metadata(client, task, {metadata_item("b", "", "t")}), 1);
    auto r = client.get(task.url() + "/metadata");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto rows = array_of(r);
    EXPECT_EQ(column(rows, "field_name"), (std::vector<std::string>{"c", "b", "a2", "a1"}));
}

TEST_F(ApiMetadata, TaskListHasOnlyThatTasksRecords) {
    auto other = sibling_task(client, task);
    ASSERT_EQ(post_metadata(client, task, {metadata_item("mine", "", "t")}), 1);
    ASSERT_EQ(post_metadata(client, other, {metadata_item("other", "", "t")}), 1);
    EXPECT_EQ(column(task_metadata(task), "field_name"), std::vector<std::string>{"mine"});
    EXPECT_EQ(column(task_metadata(other), "field_name"), std::vector<std::string>{"other"});
}

TEST_F(ApiMetadata, ListsAreEmptyForMissingParents) {
    for (const char* url : {"/flows/HelloFlow/runs/1/steps/start/tasks/1/metadata",
                            "/flows/HelloFlow/runs/1/steps/start/tasks/5/metadata",
                            "/flows/HelloFlow/runs/1/steps/end/tasks/1/metadata",
                            "/flows/NoSuchFlow/runs/1/steps/start/tasks/1/metadata",
                            "/flows/HelloFlow/runs/1/metadata", "/flows/HelloFlow/runs/8/metadata",
                            "/flows/NoSuchFlow/runs/1/metadata"}) {
        auto r = client.get(url);
        expect_ok_json(r);
        expect_legacy_list(r);
        EXPECT_EQ(r.body, "[]") << url;
    }
}

TEST_F(ApiMetadata, TaskListPagesNewestFirstWithIdCursor) {
    // Seven records at four timestamps.
    const std::vector<std::int64_t> times = {3, 1, 3, 2, 0, 3, 1};
    for (std::size_t i = 0; i < times.size(); ++i) {
        at(kT0 + times[i]);
        ASSERT_EQ(post_metadata(client, task, {metadata_item("f" + std::to_string(i), "", "t")}),
                  1);
    }
    auto legacy = task_metadata(task);
    auto walk = walk_pages(client, task.url() + "/metadata", 3);
    EXPECT_EQ(walk.pages, 3);
    EXPECT_EQ(walk.rows, legacy);  // the same order in both modes
    EXPECT_EQ(column(walk.rows, "field_name"),
              (std::vector<std::string>{"f5", "f2", "f0", "f3", "f6", "f1", "f4"}));
    for (const auto& cursor : walk.cursors) {
        auto key = cursor_json(cursor);
        EXPECT_EQ(keys_of(key), (std::vector<std::string>{"ts_epoch", "id"}));
    }
}

TEST_F(ApiMetadata, RunListHasEveryTaskOfTheRun) {
    auto other_task = sibling_task(client, task);
    auto end_task = task_in_new_step(client, task, "end");
    auto other_run = make_task(client);  // run 2: must not appear
    at(kT0 + 1);
    ASSERT_EQ(
        post_metadata(client, task, {metadata_item("a", "", "t"), metadata_item("b", "", "t")}), 2);
    at(kT0 + 2);
    ASSERT_EQ(post_metadata(client, end_task, {metadata_item("c", "", "t")}), 1);
    at(kT0 + 3);
    ASSERT_EQ(post_metadata(client, other_task, {metadata_item("d", "", "t")}), 1);
    ASSERT_EQ(post_metadata(client, other_run, {metadata_item("other-run", "", "t")}), 1);
    auto r = client.get(task.run_url() + "/metadata");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto rows = array_of(r);
    auto names = column(rows, "field_name");
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
              (std::set<std::string>{"a", "b", "c", "d"}));
    for (const auto& row : rows) expect_keys(row.as_object(), kMetadataKeys);
    auto walk = walk_pages(client, task.run_url() + "/metadata", 2);
    EXPECT_EQ(walk.pages, 2);
    EXPECT_EQ(column(walk.rows, "field_name"), (std::vector<std::string>{"d", "c", "b", "a"}));
    EXPECT_EQ(column(walk.rows, "step_name"),
              (std::vector<std::string>{"start", "end", "start", "start"}));
}

TEST_F(ApiMetadata, LimitIsCappedAt500) {
    json::array batch;
    for (int i = 0; i < 501; ++i) batch.push_back(metadata_item("f" + std::to_string(i), "", "t"));
    ASSERT_EQ(post_metadata(client, task, batch), 501);
    for (const auto& url : {task.url() + "/metadata", task.run_url() + "/metadata"}) {
        auto r = client.get(url + "?_limit=1000");
        expect_ok_json(r);
        EXPECT_EQ(r.header("x-limit"), "500") << url;
        EXPECT_EQ(array_of(r).size(), 500u) << url;
        ASSERT_TRUE(r.has_header("x-next-cursor")) << url;
        auto rest =
            client.get(url + "?_limit=1000&_cursor=" + url_encode(r.header("x-next-cursor")));
        auto last = array_of(rest);
        ASSERT_EQ(last.size(), 1u) << url;
        EXPECT_EQ(last[0].as_object().at("field_name"), "f0");
        EXPECT_FALSE(rest.has_header("x-next-cursor"));
        // The legacy list is unbounded.
        EXPECT_EQ(get_array(client, url).size(), 501u) << url;
    }
}

TEST_F(ApiMetadata, LimitZeroIsAnEmptyPage) {
    ASSERT_EQ(post_metadata(client, task, {metadata_item("a", "", "t")}), 1);
    for (const auto& url : {task.url() + "/metadata", task.run_url() + "/metadata"}) {
        auto r = client.get(url + "?_limit=0");
        expect_ok_json(r);
        EXPECT_EQ(r.body, "[]");
        EXPECT_EQ(r.header("x-limit"), "0");
        EXPECT_FALSE(r.has_header("x-next-cursor"));
    }
}

TEST_F(ApiMetadata, LongFieldsAtTheLimitAreAccepted) {
    std::string name(255, 'n');
    std::string accented;
    for (int i = 0; i < 255; ++i) accented += "\xc3\xa9";  // 255 characters, 510 bytes
    std::string long_value(100'000, 'v');                  // TEXT: no limit
    ASSERT_EQ(
        post_metadata(client, task, {metadata_item(name, json::string(long_value), accented)}), 1);
    auto rows = task_metadata(task);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].as_object().at("field_name"), name.c_str());
    EXPECT_EQ(rows[0].as_object().at("type"), accented.c_str());
    EXPECT_EQ(rows[0].as_object().at("value").as_string().size(), long_value.size());
}

}  // namespace
}  // namespace mf::testing::api
