#pragma once

// Helpers shared by the HTTP-level API tests (tests/api/*_test.cpp): building the
// flow/run/step/task hierarchy through the real routes, checking the wire conventions of
// docs/api.md#conventions, walking paginated lists (docs/api.md#pagination) and checking that bad
// input wrote nothing.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/test_server.hpp"

namespace mf::testing::api {

namespace json = boost::json;

inline constexpr const char* kServiceVersion = "2.5.1";
inline constexpr const char* kTextPlain = "text/plain; charset=utf-8";
inline constexpr const char* kVersionHeader = "metadata_service_version";
// The exact heartbeat reply body (docs/api.md#heartbeats): a JSON string holding JSON (32 bytes).
inline constexpr std::string_view kHeartbeatBody = R"("{\"wait_time_in_seconds\": 10}")";

// A server whose clock the test drives (TestServer::clock()). Built field by field:
// designated initializers that skip a field trip -Wmissing-field-initializers.
inline TestServerOptions manual_clock_options() {
    TestServerOptions options;
    options.manual_clock = true;
    return options;
}

// ---------------------------------------------------------------------------------------
// JSON and wire checks

inline json::value parse_json(std::string_view text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    EXPECT_FALSE(ec) << "not JSON: " << text;
    return value;
}

// The body as a JSON object; a test failure (and an empty object) otherwise.
inline json::object object_of(const HttpResponse& r) {
    auto value = r.json();
    if (!value.is_object()) {
        ADD_FAILURE() << "expected a JSON object, got: " << r.body;
        return {};
    }
    return value.as_object();
}

// The body as a JSON array; a test failure (and an empty array) otherwise.
inline json::array array_of(const HttpResponse& r) {
    auto value = r.json();
    if (!value.is_array()) {
        ADD_FAILURE() << "expected a JSON array, got: " << r.body;
        return {};
    }
    return value.as_array();
}

// The contents of a body that is a JSON string literal (E4 bodies, double-encoded bodies).
inline std::string string_of(const HttpResponse& r) {
    auto value = r.json();
    if (!value.is_string()) {
        ADD_FAILURE() << "expected a JSON string, got: " << r.body;
        return {};
    }
    return std::string(value.as_string());
}

// A double-encoded body (docs/api.md#conventions): a JSON string whose contents are JSON.
inline json::value double_decoded(const HttpResponse& r) {
    return parse_json(string_of(r));
}

// The E2 shape (docs/api.md#errors): a JSON string holding {"err_msg": ...}.
inline void expect_db_error(const HttpResponse& r, unsigned status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto inner = double_decoded(r);
    ASSERT_TRUE(inner.is_object()) << r.body;
    EXPECT_TRUE(inner.as_object().contains("err_msg")) << r.body;
}

// The E1 shape (docs/api.md#errors): 404 with `{}` and the version header.
inline void expect_not_found(const HttpResponse& r) {
    EXPECT_EQ(r.status, 404u) << r.body;
    EXPECT_EQ(r.body, "{}");
    EXPECT_EQ(r.header(kVersionHeader), kServiceVersion);
    EXPECT_EQ(r.header("content-type"), kTextPlain);
}

// The E4 shape (docs/api.md#errors): a JSON string literal with exactly `text`.
inline void expect_text_error(const HttpResponse& r, unsigned status, std::string_view text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(string_of(r), text) << r.body;
}

// The E5 shape (docs/api.md#errors): 400, {"message": ...}, no version header.
inline void expect_register_first(const HttpResponse& r) {
    EXPECT_EQ(r.status, 400u) << r.body;
    auto value = r.json();
    EXPECT_EQ(value, json::value({{"message", "need to register run_id and task_id first"}}))
        << r.body;
    EXPECT_FALSE(r.has_header(kVersionHeader));
}

inline void expect_version_header(const HttpResponse& r) {
    EXPECT_EQ(r.header(kVersionHeader), kServiceVersion) << "status " << r.status << ": " << r.body;
}

inline void expect_no_version_header(const HttpResponse& r) {
    EXPECT_FALSE(r.has_header(kVersionHeader))
        << "status " << r.status << ": " << r.header(kVersionHeader);
}

// A 200 JSON reply as the reference sends it: text/plain, version header, Content-Length.
inline void expect_ok_json(const HttpResponse& r) {
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    expect_version_header(r);
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
}

// No paging headers: the legacy list mode (docs/api.md#pagination).
inline void expect_legacy_list(const HttpResponse& r) {
    EXPECT_FALSE(r.has_header("x-limit")) << r.header("x-limit");
    EXPECT_FALSE(r.has_header("x-next-cursor")) << r.header("x-next-cursor");
}

// The object's keys, in order.
inline std::vector<std::string> keys_of(const json::object& object) {
    std::vector<std::string> keys;
    for (const auto& entry : object) keys.emplace_back(entry.key());
    return keys;
}

// Exactly these keys, in the order of docs/api.md#objects.
inline void expect_keys(const json::object& object, const std::vector<std::string>& keys) {
    EXPECT_EQ(keys_of(object), keys) << json::serialize(object);
}

inline const std::vector<std::string> kFlowKeys = {"flow_id", "user_name", "ts_epoch", "tags",
                                                   "system_tags"};
inline const std::vector<std::string> kRunKeys = {
    "flow_id", "run_number", "user_name", "ts_epoch", "tags", "system_tags", "last_heartbeat_ts"};
inline const std::vector<std::string> kStepKeys = {
    "flow_id", "run_number", "step_name", "user_name", "ts_epoch", "tags", "system_tags"};
inline const std::vector<std::string> kTaskKeys = {"flow_id", "run_number",  "step_name",
                                                   "task_id", "user_name",   "ts_epoch",
                                                   "tags",    "system_tags", "last_heartbeat_ts"};
inline const std::vector<std::string> kMetadataKeys = {
    "id",    "flow_id", "run_number", "step_name", "task_id", "field_name",
    "value", "type",    "user_name",  "ts_epoch",  "tags",    "system_tags"};
inline const std::vector<std::string> kArtifactKeys = {
    "flow_id",   "run_number", "step_name", "task_id", "name",
    "location",  "ds_type",    "sha",       "type",    "content_type",
    "user_name", "attempt_id", "ts_epoch",  "tags",    "system_tags"};

// A run_number / task_id field as path text: the string id or the decimal number.
inline std::string id_text(const json::value& id) {
    if (id.is_string()) return std::string(id.as_string());
    if (id.is_int64()) return std::to_string(id.as_int64());
    if (id.is_uint64()) return std::to_string(id.as_uint64());
    ADD_FAILURE() << "not an id: " << json::serialize(id);
    return "?";
}

inline std::set<std::string> string_set(const json::value& list) {
    std::set<std::string> out;
    if (!list.is_array()) {
        ADD_FAILURE() << "not an array: " << json::serialize(list);
        return out;
    }
    for (const auto& item : list.as_array()) {
        if (item.is_string())
            out.emplace(item.as_string());
        else
            ADD_FAILURE() << "not a string: " << json::serialize(item);
    }
    return out;
}

// The values of `key` in each object of `rows`, as text (ids, names).
inline std::vector<std::string> column(const json::array& rows, std::string_view key) {
    std::vector<std::string> out;
    for (const auto& row : rows) {
        if (!row.is_object() || !row.as_object().contains(key)) {
            ADD_FAILURE() << "row without " << key << ": " << json::serialize(row);
            continue;
        }
        const auto& value = row.as_object().at(key);
        out.push_back(value.is_string() ? std::string(value.as_string()) : json::serialize(value));
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// URLs

inline std::string flow_url(std::string_view flow) {
    return "/flows/" + std::string(flow);
}
inline std::string run_url(std::string_view flow, std::string_view run) {
    return flow_url(flow) + "/runs/" + std::string(run);
}
inline std::string step_url(std::string_view flow, std::string_view run, std::string_view step) {
    return run_url(flow, run) + "/steps/" + std::string(step);
}
inline std::string task_url(std::string_view flow, std::string_view run, std::string_view step,
                            std::string_view task) {
    return step_url(flow, run, step) + "/tasks/" + std::string(task);
}

// A task's place in the hierarchy, with the exposed ids as path text.
struct TaskRef {
    std::string flow;
    std::string run;
    std::string step;
    std::string task;

    std::string flow_url() const { return api::flow_url(flow); }
    std::string run_url() const { return api::run_url(flow, run); }
    std::string step_url() const { return api::step_url(flow, run, step); }
    std::string url() const { return api::task_url(flow, run, step, task); }
};

// ---------------------------------------------------------------------------------------
// Request bodies like the Metaflow client's

inline json::array run_system_tags(std::string_view user = "alice",
                                   std::string_view version = "2.12.0") {
    return json::array{"user:" + std::string(user), "runtime:dev", "python_version:3.11.7",
                       "metaflow_version:" + std::string(version)};
}

// A POST run body: user alice, tags ["team:ml"], heartbeat-capable system tags.
inline json::object run_body(std::optional<std::string> run_id = std::nullopt) {
    json::object body{{"flow_id", "ignored"},
                      {"user_name", "alice"},
                      {"tags", json::array{"team:ml"}},
                      {"system_tags", run_system_tags()},
                      {"ts_epoch", 1}};
    if (run_id) body["run_number"] = *run_id;
    return body;
}

// A POST task body with the client's own (never shown) tags.
inline json::object task_body(std::optional<std::string> task_name = std::nullopt,
                              std::string_view version = "2.12.0") {
    json::object body{
        {"run_number", "ignored"},
        {"step_name", "ignored"},
        {"user_name", "alice"},
        {"tags", json::array{"task-own-tag"}},
        {"system_tags", json::array{"user:alice", "metaflow_version:" + std::string(version)}},
        {"ts_epoch", 1}};
    if (task_name) body["task_id"] = *task_name;
    return body;
}

inline json::object metadata_item(std::string_view field, json::value value, std::string_view type,
                                  int attempt = 0) {
    return json::object{{"flow_id", "ignored"},
                        {"run_number", "ignored"},
                        {"step_name", "ignored"},
                        {"task_id", 12345},
                        {"field_name", field},
                        {"value", std::move(value)},
                        {"type", type},
                        {"user_name", "alice"},
                        {"tags", json::array{"attempt_id:" + std::to_string(attempt)}},
                        {"ts_epoch", 1}};
}

inline json::object artifact_item(std::string_view name, int attempt = 0) {
    return json::object{
        {"run_number", "ignored"},
        {"step_name", "ignored"},
        {"task_id", "ignored"},
        {"attempt_id", attempt},
        {"name", name},
        {"content_type", "gzip+pickle-v4"},
        {"type", "metaflow.artifact"},
        {"sha", "sha-" + std::string(name) + "-" + std::to_string(attempt)},
        {"ds_type", "s3"},
        {"location", "s3://bucket/" + std::string(name) + "/" + std::to_string(attempt)},
        {"flow_id", "ignored"},
        {"user_name", "alice"},
        {"tags", json::array{"artifact-own-tag"}},
        {"system_tags", json::array{"artifact-own-system-tag"}},
        {"ts_epoch", 1}};
}

// ---------------------------------------------------------------------------------------
// Creating objects through the API. Each expects success and returns the reply object.

inline json::object create_flow(HttpClient& client, std::string_view flow,
                                const json::object& body = {}) {
    auto r = client.post(flow_url(flow), json::serialize(body));
    EXPECT_EQ(r.status, 200u) << "POST flow " << flow << ": " << r.body;
    return object_of(r);
}

inline json::object create_run(HttpClient& client, std::string_view flow,
                               const json::object& body = run_body()) {
    auto r = client.post(flow_url(flow) + "/run", json::serialize(body));
    EXPECT_EQ(r.status, 200u) << "POST run in " << flow << ": " << r.body;
    return object_of(r);
}

// The run's exposed id as path text.
inline std::string new_run(HttpClient& client, std::string_view flow,
                           const json::object& body = run_body()) {
    auto run = create_run(client, flow, body);
    return run.contains("run_number") ? id_text(run.at("run_number")) : "?";
}

inline json::object create_step(HttpClient& client, std::string_view flow, std::string_view run,
                                std::string_view step, const json::object& body = {}) {
    auto r = client.post(step_url(flow, run, step) + "/step", json::serialize(body));
    EXPECT_EQ(r.status, 200u) << "POST step " << step << ": " << r.body;
    return object_of(r);
}

inline json::object create_task(HttpClient& client, std::string_view flow, std::string_view run,
                                std::string_view step, const json::object& body = task_body()) {
    auto r = client.post(step_url(flow, run, step) + "/task", json::serialize(body));
    EXPECT_EQ(r.status, 200u) << "POST task in " << step << ": " << r.body;
    return object_of(r);
}

// The task's exposed id as path text.
inline std::string new_task(HttpClient& client, std::string_view flow, std::string_view run,
                            std::string_view step, const json::object& body = task_body()) {
    auto task = create_task(client, flow, run, step, body);
    return task.contains("task_id") ? id_text(task.at("task_id")) : "?";
}

// Flow `flow` (created if needed), a new run, step `step` and one task in it.
inline TaskRef make_task(HttpClient& client, std::string_view flow = "HelloFlow",
                         std::string_view step = "start", const json::object& run = run_body(),
                         const json::object& task = task_body()) {
    auto r = client.get(flow_url(flow));
    if (r.status == 404) create_flow(client, flow);
    TaskRef ref{std::string(flow), new_run(client, flow, run), std::string(step), ""};
    create_step(client, ref.flow, ref.run, ref.step);
    ref.task = new_task(client, ref.flow, ref.run, ref.step, task);
    return ref;
}

// Another task of an existing step.
inline TaskRef sibling_task(HttpClient& client, const TaskRef& of,
                            const json::object& task = task_body()) {
    TaskRef ref = of;
    ref.task = new_task(client, of.flow, of.run, of.step, task);
    return ref;
}

// A task in a new step of an existing run.
inline TaskRef task_in_new_step(HttpClient& client, const TaskRef& of, std::string_view step,
                                const json::object& task = task_body()) {
    TaskRef ref = of;
    ref.step = std::string(step);
    create_step(client, ref.flow, ref.run, ref.step);
    ref.task = new_task(client, ref.flow, ref.run, ref.step, task);
    return ref;
}

inline std::int64_t post_metadata(HttpClient& client, const TaskRef& task,
                                  const json::array& items) {
    auto r = client.post(task.url() + "/metadata", json::serialize(items));
    EXPECT_EQ(r.status, 200u) << r.body;
    auto body = object_of(r);
    if (!body.contains("metadata_created") || !body.at("metadata_created").is_int64()) {
        ADD_FAILURE() << r.body;
        return -1;
    }
    return body.at("metadata_created").as_int64();
}

inline std::int64_t post_artifacts(HttpClient& client, const TaskRef& task,
                                   const json::array& items) {
    auto r = client.post(task.url() + "/artifact", json::serialize(items));
    EXPECT_EQ(r.status, 200u) << r.body;
    auto body = object_of(r);
    if (!body.contains("artifacts_created") || !body.at("artifacts_created").is_int64()) {
        ADD_FAILURE() << r.body;
        return -1;
    }
    return body.at("artifacts_created").as_int64();
}

inline json::object get_object(HttpClient& client, const std::string& url) {
    auto r = client.get(url);
    EXPECT_EQ(r.status, 200u) << "GET " << url << ": " << r.body;
    return object_of(r);
}

inline json::array get_array(HttpClient& client, const std::string& url) {
    auto r = client.get(url);
    EXPECT_EQ(r.status, 200u) << "GET " << url << ": " << r.body;
    return array_of(r);
}

// ---------------------------------------------------------------------------------------
// Pagination (docs/api.md#pagination)

inline std::string base64_decode(std::string_view text) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        auto at = kAlphabet.find(c);
        if (at == std::string_view::npos) {
            ADD_FAILURE() << "not standard base64: " << text;
            return {};
        }
        buffer = buffer << 6 | static_cast<unsigned>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

inline std::string base64_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                     static_cast<unsigned char>(bytes[i + 1]) << 8 |
                     static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i < bytes.size()) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// The JSON object inside an X-Next-Cursor value.
inline json::object cursor_json(std::string_view cursor) {
    auto value = parse_json(base64_decode(cursor));
    if (!value.is_object()) {
        ADD_FAILURE() << "cursor is not a JSON object: " << cursor;
        return {};
    }
    return value.as_object();
}

inline std::string with_query(const std::string& path, const std::string& query) {
    return path + (path.find('?') == std::string::npos ? "?" : "&") + query;
}

struct Walk {
    json::array rows;
    int pages = 0;
    std::vector<std::string> cursors;
};

// Follows X-Next-Cursor from the first page to the last, checking the paging headers of
// every page: X-Limit on each, a full page whenever there is a next cursor.
inline Walk walk_pages(HttpClient& client, const std::string& path, int limit) {
    Walk walk;
    std::string cursor;
    for (int guard = 0; guard < 1000; ++guard) {
        std::string url = with_query(path, "_limit=" + std::to_string(limit));
        if (!cursor.empty()) url += "&_cursor=" + url_encode(cursor);
        auto r = client.get(url);
        EXPECT_EQ(r.status, 200u) << url << ": " << r.body;
        if (r.status != 200) break;
        expect_version_header(r);
        EXPECT_EQ(r.header("x-limit"), std::to_string(limit)) << url;
        auto page = array_of(r);
        ++walk.pages;
        EXPECT_LE(page.size(), static_cast<std::size_t>(limit)) << url;
        for (auto& row : page) walk.rows.push_back(row);
        if (!r.has_header("x-next-cursor")) break;
        EXPECT_EQ(page.size(), static_cast<std::size_t>(limit))
            << "a page with a next cursor must be full: " << url;
        cursor = r.header("x-next-cursor");
        walk.cursors.push_back(cursor);
    }
    return walk;
}

// ---------------------------------------------------------------------------------------
// Bad input

// A 4xx whose body is JSON (a string or an object).
inline void expect_json_client_error(const HttpResponse& r, unsigned status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_GE(r.status, 400u);
    EXPECT_LT(r.status, 500u);
    boost::system::error_code ec;
    auto value = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "error body is not JSON: " << r.body;
    if (!ec) {
        EXPECT_TRUE(value.is_string() || value.is_object()) << r.body;
    }
}

// Snapshots the row counts of every table; unchanged() compares with the snapshot.
class RowCounts {
public:
    explicit RowCounts(const TestServer& server) : server_(server), before_(server.row_counts()) {}
    void expect_unchanged(std::string_view what = {}) const {
        EXPECT_EQ(server_.row_counts(), before_) << "the database changed after " << what;
    }
    std::int64_t before(const std::string& table) const {
        auto it = before_.find(table);
        return it == before_.end() ? -1 : it->second;
    }

private:
    const TestServer& server_;
    std::map<std::string, std::int64_t> before_;
};

inline std::int64_t rows_in(const TestServer& server, const std::string& table) {
    auto counts = server.row_counts();
    auto it = counts.find(table);
    EXPECT_NE(it, counts.end()) << "no table " << table;
    return it == counts.end() ? -1 : it->second;
}

// ---------------------------------------------------------------------------------------
// Concurrency

// Runs body(i, client) on `threads` threads at once, each with its own connection, all
// released together so that their requests overlap.
inline void run_concurrently(const TestServer& server, int threads,
                             const std::function<void(int, HttpClient&)>& body) {
    std::vector<HttpClient> clients;
    for (int i = 0; i < threads; ++i) clients.push_back(server.client());
    std::latch start(threads);
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) {
        workers.emplace_back([&, i] {
            start.arrive_and_wait();
            body(i, clients[static_cast<std::size_t>(i)]);
        });
    }
    for (auto& worker : workers) worker.join();
}

}  // namespace mf::testing::api
