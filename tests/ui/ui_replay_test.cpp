// Replays every exchange of the reference UI backend's trace (tests/fixtures/ui) that the
// database answers, on the rows the reference served, with the clock frozen at each
// exchange's recorded time, and compares status and body field by field.
//
// Compared as they are unless the case says otherwise: status, data (each row, each field),
// links, pages and query. Where the reference leaves row order unspecified (no _order, or
// groups), rows are compared as a set; when such a list was cut to a page, which rows fill
// it is the reference's heap order, so only the page's size and the rows' fields are checked.
//
// Where we differ on purpose:
// - postprocess=true: artifact values, refined task statuses and foreach labels come from the
//   flows' datastore (tests/fixtures/ui-datastore) and are compared, but for the rows where
//   the reference's own client cache failed (see refinements_as_recorded), and without the
//   reference's tracebacks.
// - taskId=<ids> filters the task list (the reference ignores it and lists every task).
// - /tags/autocomplete filters each tag:<op> by its own value (the reference uses the last
//   query parameter's value for all of them).
// - errors carry our own reason, never the database's text, in "data".
// - /tags lists the tags sorted (the reference's order is a Python set's).
// - benchmark=true adds no query plan.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>

#include "ui/json_difference.hpp"
#include "ui/ui_test_server.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

struct Exchange {
    std::int64_t seq = 0;
    std::string label;
    std::string target;
    std::string path;
    json::object query;
    json::object request_headers;
    unsigned status = 0;
    std::string date;
    json::value response;
};

std::string read_file(const std::string& path) {
    std::ifstream file(path);
    EXPECT_TRUE(file) << "missing fixture " << path;
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// The families of the trace's labels whose routes read only the database.
bool database_route(const Exchange& exchange) {
    static const std::set<std::string> kFamilies = {
        "runs",           "flows",         "flow-runs",     "run",          "tags",
        "autocomplete",   "steps",         "step",          "tasks-run",    "tasks-step",
        "task",           "task-attempts", "metadata-task", "run-metadata", "artifacts-task",
        "artifacts-step", "artifacts-run", "run-artifacts",
    };
    const std::string family = exchange.label.substr(0, exchange.label.find(':'));
    if (kFamilies.contains(family)) return true;
    return exchange.label == "errors:url-encoded-flow-id" ||
           exchange.label == "errors:unicode-flow-id" ||
           exchange.label == "errors:sql-ish-filter" ||
           exchange.label == "quirk:logs-before-artifacts-2-artifacts-postprocess";
}

std::vector<Exchange> database_exchanges() {
    std::vector<Exchange> exchanges;
    std::istringstream lines(read_file(MF_TEST_FIXTURES "/ui/ui-trace.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
        auto row = json::parse(line).as_object();
        Exchange exchange;
        exchange.seq = row.at("seq").as_int64();
        exchange.label = json::value_to<std::string>(row.at("label"));
        exchange.target = json::value_to<std::string>(row.at("target"));
        exchange.path = json::value_to<std::string>(row.at("path"));
        exchange.query = row.at("query").as_object();
        exchange.request_headers = row.at("request_headers").as_object();
        exchange.status = static_cast<unsigned>(row.at("status").as_int64());
        exchange.date = json::value_to<std::string>(row.at("response_headers").at("Date"));
        if (const auto* body = row.if_contains("response_json")) exchange.response = *body;
        if (database_route(exchange)) exchanges.push_back(std::move(exchange));
    }
    return exchanges;
}

std::int64_t http_date_ms(const std::string& date) {
    std::tm tm{};
    std::istringstream in(date);
    in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
    return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

bool query_has(const Exchange& exchange, const std::string& key) {
    return exchange.query.contains(key);
}

std::string first_query_value(const Exchange& exchange, const std::string& key) {
    const auto* values = exchange.query.if_contains(key);
    if (!values || values->as_array().empty()) return {};
    return json::value_to<std::string>(values->as_array().front());
}

std::vector<std::string> listed_columns(const Exchange& exchange, const std::string& key) {
    std::vector<std::string> columns;
    std::stringstream list(first_query_value(exchange, key));
    std::string item;
    while (std::getline(list, item, ',')) columns.push_back(item);
    return columns;
}

// The columns of the request's _order, in order.
std::vector<std::string> order_columns(const Exchange& exchange) {
    std::vector<std::string> columns;
    std::stringstream list(first_query_value(exchange, "_order"));
    std::string item;
    while (std::getline(list, item, ',')) {
        if (!item.empty() && (item.front() == '+' || item.front() == '-')) item.erase(0, 1);
        columns.push_back(item);
    }
    return columns;
}

// The page size the reference used: _limit when it is a positive number, else 10.
std::int64_t page_limit(const Exchange& exchange) {
    const std::string text = first_query_value(exchange, "_limit");
    std::int64_t limit = 0;
    auto [ptr, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (text.empty() || error != std::errc() || ptr != text.data() + text.size()) return 10;
    return limit > 0 ? limit : std::numeric_limits<std::int64_t>::max();
}

bool postprocessed(const Exchange& exchange) {
    const std::string value = first_query_value(exchange, "postprocess");
    return value == "true" || value == "True" || value == "1";
}

void sort_by_text(json::array& rows) {
    std::sort(rows.begin(), rows.end(), [](const json::value& a, const json::value& b) {
        return json::serialize(a) < json::serialize(b);
    });
}

// The reference's Metaflow client poisons its own cache when a task's log is read before its
// artifacts (the trace shows it on purpose): those rows' refinements show that bug, not the
// datastore, so ours stand in for them. Tracebacks are the reference's alone.
void refinements_as_recorded(json::array& expected, json::array& actual) {
    for (std::size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
        if (!expected[i].is_object() || !actual[i].is_object()) continue;
        auto& want = expected[i].as_object();
        auto& have = actual[i].as_object();
        if (auto* error = have.if_contains("postprocess_error"); error && error->is_object())
            error->as_object().erase("traceback");
        auto* error = want.if_contains("postprocess_error");
        if (!error || !error->is_object()) continue;
        error->as_object().erase("traceback");
        if (error->as_object().at("detail") != "'NoneType' object is not subscriptable") continue;
        want.erase("postprocess_error");
        for (const char* key : {"content", "postprocess_error", "foreach_label"}) {
            if (const auto* ours = have.if_contains(key)) want[key] = *ours;
        }
    }
}

std::set<std::string> task_ids_of(const Exchange& exchange) {
    std::set<std::string> ids;
    std::stringstream list(first_query_value(exchange, "taskId"));
    std::string id;
    while (std::getline(list, id, ',')) ids.insert(id);
    return ids;
}

void compare(const Exchange& exchange, const HttpResponse& response) {
    SCOPED_TRACE("seq " + std::to_string(exchange.seq) + " " + exchange.label + " " +
                 exchange.target);
    ASSERT_EQ(response.status, exchange.status) << response.body;
    ASSERT_EQ(response.header("content-type").rfind("application/json", 0), 0u);
    EXPECT_EQ(response.header("access-control-allow-origin"), "*");
    json::value actual = response.json();
    json::value expected = exchange.response;

    if (exchange.path == "/tags") {
        sort_by_text(expected.as_array());
        sort_by_text(actual.as_array());
        EXPECT_EQ(difference(expected, actual, ""), "");
        return;
    }
    auto& expected_body = expected.as_object();
    auto& actual_body = actual.as_object();
    expected_body.erase("benchmark_result");
    if (exchange.status >= 500) {
        // Our own reason instead of the database's error text.
        EXPECT_TRUE(actual_body.at("data").is_string());
        expected_body.erase("data");
        actual_body.erase("data");
        EXPECT_EQ(difference(expected, actual, ""), "");
        return;
    }
    if (!expected_body.at("data").is_array()) {
        EXPECT_EQ(difference(expected, actual, ""), "");
        return;
    }
    auto& expected_rows = expected_body.at("data").as_array();
    auto& actual_rows = actual_body.at("data").as_array();
    if (exchange.label == "autocomplete:tags-param-order-quirk") {
        // We filter by tag:co=acc itself: every tag with "acc", five at most.
        EXPECT_FALSE(actual_rows.empty());
        for (const auto& tag : actual_rows)
            EXPECT_NE(std::string_view(tag.as_string()).find("acc"), std::string_view::npos);
        expected_body.erase("data");
        actual_body.erase("data");
        expected_body.erase("pages");
        actual_body.erase("pages");
        expected_body.erase("links");
        actual_body.erase("links");
        EXPECT_EQ(difference(expected, actual, ""), "");
        return;
    }
    if (query_has(exchange, "taskId")) {
        const auto ids = task_ids_of(exchange);
        json::array kept;
        for (const auto& row : expected_rows) {
            if (ids.contains(std::to_string(row.at("task_id").as_int64()))) kept.push_back(row);
        }
        expected_rows = std::move(kept);
        // The page is no longer full, so no next page. Members are found with if_contains:
        // object::operator[] may rehash even for a key that exists, leaving expected_rows
        // dangling.
        for (const char* part : {"pages", "links"}) {
            auto* want = expected_body.if_contains(part);
            const auto* have = actual_body.if_contains(part);
            ASSERT_TRUE(want && have && want->is_object() && have->is_object()) << part;
            auto* want_next = want->as_object().if_contains("next");
            const auto* have_next = have->as_object().if_contains("next");
            ASSERT_TRUE(want_next && have_next) << part;
            *want_next = *have_next;
        }
    }
    // An order or group on a column the reference does not know is no order or group.
    const auto known = [&](const std::vector<std::string>& columns) {
        for (const auto& column : columns) {
            for (const auto& row : expected_rows) {
                if (row.is_object() && row.as_object().contains(column)) return true;
            }
        }
        return false;
    };
    const bool grouped = known(listed_columns(exchange, "_group"));
    const bool ordered = !grouped && known(order_columns(exchange));
    const bool paged = !ordered && !grouped &&
                       static_cast<std::int64_t>(expected_rows.size()) >= page_limit(exchange);
    if (ordered && expected_rows.size() == actual_rows.size()) {
        // Rows the order ranks equal come in any order: the ordered columns must match row
        // by row, the rows as a set.
        const auto columns = order_columns(exchange);
        for (std::size_t i = 0; i < expected_rows.size(); ++i) {
            for (const auto& column : columns) {
                const auto* want = expected_rows[i].as_object().if_contains(column);
                const auto* have = actual_rows[i].as_object().if_contains(column);
                if (want && have) {
                    EXPECT_EQ(*want, *have) << "row " << i << " " << column;
                }
            }
        }
    }
    sort_by_text(expected_rows);
    sort_by_text(actual_rows);
    if (postprocessed(exchange)) refinements_as_recorded(expected_rows, actual_rows);
    if (paged) {
        // Which rows fill a page of an unordered list is the reference's heap order.
        EXPECT_EQ(expected_rows.size(), actual_rows.size());
        for (std::size_t i = 0; i < expected_rows.size() && i < actual_rows.size(); ++i) {
            if (!expected_rows[i].is_object()) continue;
            for (const auto& [key, value] : expected_rows[i].as_object())
                EXPECT_TRUE(actual_rows[i].as_object().contains(key)) << key;
        }
        expected_body.erase("data");
        actual_body.erase("data");
    }
    EXPECT_EQ(difference(expected, actual, ""), "");
}

// The rows behind the trace, but for run 17 (flow AccLinear_ws), which ran after the HTTP
// exchanges were recorded (during the websocket trace).
std::string rows_of_the_http_trace() {
    std::istringstream lines(read_file(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    std::string rows;
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find("'AccLinear_ws'") == std::string::npos) rows += line + "\n";
    }
    return rows;
}

class UiReplay : public ::testing::Test {};

TEST_F(UiReplay, DatabaseRoutesAnswerAsTheReference) {
    ui::ScopedEnv datastore("METAFLOW_DATASTORE_SYSROOT_LOCAL", MF_TEST_FIXTURES "/ui-datastore");
    UiTestServer server;
    server.load_inserts(rows_of_the_http_trace());
    auto exchanges = database_exchanges();
    ASSERT_GT(exchanges.size(), 200u);
    auto client = server.client();
    for (const auto& exchange : exchanges) {
        server.clock().set_ms(http_date_ms(exchange.date));
        http::Fields headers;
        for (const auto& [name, value] : exchange.request_headers) {
            if (name == "host" || name.starts_with("x-forwarded"))
                headers.emplace_back(std::string(name), json::value_to<std::string>(value));
        }
        compare(exchange, client.request("GET", exchange.target, {}, headers));
    }
}

}  // namespace
}  // namespace mf::testing
