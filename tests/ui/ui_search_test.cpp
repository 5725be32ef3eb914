// The artifact search websocket of the UI listener, through a real websocket client against
// the real service, on each store, over the datastore real flows wrote
// (tests/fixtures/ui-datastore) and the rows behind it: the reference's recorded searches
// opened again and compared (search_replay.hpp; over S3 in ui_storage_test.cpp), value
// comparison, foreach variables, searches that find nothing, unknown runs, a retried task, a
// request without a key, a plain GET, no datastore, and the access rules on the upgrade.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <sstream>

#include "realtime/ws_client.hpp"
#include "ui/search_replay.hpp"
#include "ui/ui_test_server.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;
using ui::kDatastoreParent;
using ui::read_text;
using ui::ScopedEnv;

// The searches over the local datastore and the trace's rows, on one server: each server
// costs a database, and searches only read.
class LocalSearches {
public:
    LocalSearches() { server_.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql")); }

    std::uint16_t port() const { return server_.ui_port(); }

    void values_compare_without_case_anywhere_or_whole_in_quotes() {
        // Run 1's three tasks have `a_str` "hello-metaflow" and `a_dict`
        // {'k': [1, 2, 3], 'nested': {'x': 1.5}}, compared as the UI shows them.
        const std::string run = "/search/flows/AccLinear_ui/runs/1?key=";
        const std::string whole_dict =
            "a_dict&value=%7B'k'%3A%20%5B1%2C%202%2C%203%5D%2C%20"
            "'nested'%3A%20%7B'x'%3A%201.5%7D%7D";
        for (const std::string found_in_each :
             {"a_str&value=HELLO", "a_str&value=o-met", "a_str&value=hello-metaflow",
              "a_str&value=%22HELLO-METAFLOW%22", "a_dict&value='k'%3A%20%5B1%2C%202",
              whole_dict.c_str()}) {
            SCOPED_TRACE(found_in_each);
            auto found = open(run + found_in_each);
            EXPECT_EQ(found.close_code, 1000);
            const auto matches = matches_by_task(found.last_result());
            ASSERT_EQ(matches.size(), 3u);
            EXPECT_EQ(
                matches.at("middle/3"),
                json::parse(R"({"flow_id": "AccLinear_ui", "run_number": "1", "step_name": "middle",
                                     "task_id": "3", "searchable": true, "error": null})"));
        }
        for (const char* found_in_none :
             {"a_str&value=%22hello%22", "a_str&value=hello-metaflow!"}) {
            SCOPED_TRACE(found_in_none);
            EXPECT_EQ(matches_by_task(open(run + found_in_none).last_result()).size(), 0u);
        }
    }

    void a_retried_task_is_listed_once() {
        // Run 5's flaky task 49 failed its attempt 0 (`_task_ok` False) and passed attempt 1.
        const auto all = open("/search/flows/AccRetry_ui/runs/5?key=_task_ok").last_result();
        EXPECT_EQ(all.at("matches").as_array().size(), 4u);
        EXPECT_EQ(matches_by_task(all).size(), 4u);
        const auto failed = open("/search/flows/AccRetry_ui/runs/5?key=_task_ok&value=false");
        const auto matches = matches_by_task(failed.last_result());
        ASSERT_EQ(matches.size(), 1u);
        EXPECT_TRUE(matches.contains("flaky/49"));
    }

    void searches_that_find_nothing_answer_an_empty_result() {
        for (const char* target :
             {"/search/flows/AccForeach_ui/runs/3?key=item&value=zzz",
              "/search/flows/AccForeach_ui/runs/3?key=no_such_artifact",
              "/search/flows/AccForeach_ui/runs/3?key=items&value=99&scope=FOREACH_VARIABLE",
              "/search/flows/AccForeach_ui/runs/999?key=item&value=7",
              "/search/flows/NoSuchFlow/runs/1?key=item&scope=ARTIFACT%2CFOREACH_VARIABLE",
              "/flows/AccForeach_ui/runs/not-a-run/search?key=item",
              "/search/flows/AccForeach_ui/runs/3?key=item&scope=NEITHER"}) {
            SCOPED_TRACE(target);
            const auto found = open(target);
            EXPECT_EQ(found.close_code, 1000);
            ASSERT_FALSE(found.events.empty());
            EXPECT_EQ(found.events.back(),
                      json::parse(R"({"type": "result", "matches": []})").as_object());
        }
    }

    void foreach_variables_match_the_foreach_stack() {
        // Run 3's body tasks 13 to 32 iterate over `items` 0 to 19.
        auto found =
            open("/search/flows/AccForeach_ui/runs/3?key=items&value=1&scope=FOREACH_VARIABLE");
        EXPECT_EQ(found.close_code, 1000);
        EXPECT_EQ(event_types(found.events), std::vector<std::string>{"result"});
        const auto matches = matches_by_task(found.last_result());
        // items=1 and items=10 to 19, as text.
        ASSERT_EQ(matches.size(), 11u);
        EXPECT_EQ(
            matches.at("body/14"),
            json::parse(R"({"flow_id": "AccForeach_ui", "run_number": "3", "step_name": "body",
                                 "task_id": "14", "value": "{items=1}", "searchable": true})"));
        // Without a value, every task with the variable in its stack.
        found = open("/search/flows/AccNested_ui/runs/4?key=outer_items&scope=FOREACH_VARIABLE");
        EXPECT_EQ(matches_by_task(found.last_result()).size(), 8u);
    }

    void a_request_without_a_key_fails_as_the_reference() {
        const auto found = open("/search/flows/AccForeach_ui/runs/3?value=7");
        EXPECT_EQ(found.close_code, 1011);
        ASSERT_EQ(found.events.size(), 1u);
        EXPECT_EQ(found.events[0],
                  json::parse(R"({"type": "error", "message": "Filter tasks failed",
                                                  "id": "filter-tasks-failed", "traceback": null,
                                                  "key": null})"));
    }

    void a_plain_get_answers_the_references_500() {
        auto client = server_.client();
        std::istringstream lines(read_text(MF_TEST_FIXTURES "/ui/ui-trace.jsonl"));
        std::string line;
        int compared = 0;
        while (std::getline(lines, line)) {
            const auto exchange = json::parse(line).as_object();
            if (!exchange.at("label").as_string().starts_with("search:")) continue;
            const std::string target(exchange.at("target").as_string());
            SCOPED_TRACE(target);
            const auto response = client.get(target);
            EXPECT_EQ(response.status, exchange.at("status").as_int64());
            const auto body = response.json();
            const auto& recorded = exchange.at("response_json");
            for (const char* key : {"id", "status", "title", "type"})
                EXPECT_EQ(body.at(key), recorded.at(key)) << key;
            EXPECT_TRUE(body.at("traceback").is_null());
            ++compared;
        }
        EXPECT_EQ(compared, 2);
    }

private:
    SearchSocket open(const std::string& target) { return open_search(server_.ui_port(), target); }

    ScopedEnv root_{"METAFLOW_DATASTORE_SYSROOT_LOCAL", kDatastoreParent.string()};
    UiTestServer server_;
};

TEST(UiSearch, OverTheLocalDatastore) {
    LocalSearches searches;
    EXPECT_EQ(replay_recorded_searches(searches.port()), kRecordedSearches);
    {
        SCOPED_TRACE("values_compare_without_case_anywhere_or_whole_in_quotes");
        searches.values_compare_without_case_anywhere_or_whole_in_quotes();
    }
    {
        SCOPED_TRACE("a_retried_task_is_listed_once");
        searches.a_retried_task_is_listed_once();
    }
    {
        SCOPED_TRACE("searches_that_find_nothing_answer_an_empty_result");
        searches.searches_that_find_nothing_answer_an_empty_result();
    }
    {
        SCOPED_TRACE("foreach_variables_match_the_foreach_stack");
        searches.foreach_variables_match_the_foreach_stack();
    }
    {
        SCOPED_TRACE("a_request_without_a_key_fails_as_the_reference");
        searches.a_request_without_a_key_fails_as_the_reference();
    }
    {
        SCOPED_TRACE("a_plain_get_answers_the_references_500");
        searches.a_plain_get_answers_the_references_500();
    }
}

TEST(UiSearch, WithoutADatastoreValueSearchesSayWhyPerTask) {
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    const auto found =
        open_search(server.ui_port(), "/search/flows/AccLinear_ui/runs/1?key=a_str&value=x");
    EXPECT_EQ(found.close_code, 1000);
    const auto matches = matches_by_task(found.last_result());
    ASSERT_EQ(matches.size(), 3u);
    for (const auto& [task, match] : matches) {
        SCOPED_TRACE(task);
        EXPECT_EQ(match.at("searchable"), false);
        EXPECT_EQ(match.at("error").at("id"), "generic-error");
        EXPECT_NE(
            match.at("error").at("detail").as_string().find("METAFLOW_DATASTORE_SYSROOT_LOCAL"),
            std::string_view::npos);
    }
    // Without a value, the database answers alone.
    const auto listed =
        open_search(server.ui_port(), "/search/flows/AccLinear_ui/runs/1?key=a_str");
    EXPECT_EQ(matches_by_task(listed.last_result()).size(), 3u);
}

TEST(UiSearchAccess, TheUpgradeNeedsAKeyAndANetworkOfTheUiListener) {
    auto options = ui::ui_options();
    options.security.api_keys = "viewer:s3cret read-only";
    TestServer server(options);
    const std::string target = "/search/flows/F/runs/1?key=x";
    EXPECT_ANY_THROW(WsClient(server.ui_port(), {}, 0, target));
    EXPECT_ANY_THROW(WsClient(server.ui_port(), {{"x-api-key", "wrong"}}, 0, target));
    EXPECT_EQ(open_search(server.ui_port(), target, {{"x-api-key", "s3cret"}}).close_code, 1000);
    // "any:s3cret" in base64.
    EXPECT_EQ(open_search(server.ui_port(), "/flows/F/runs/1/search?key=x",
                          {{"authorization", "Basic YW55OnMzY3JldA=="}})
                  .close_code,
              1000);

    auto outside = ui::ui_options();
    outside.ui_config.allow_cidrs = {"10.0.0.0/8"};
    TestServer refused(outside);
    EXPECT_ANY_THROW(WsClient(refused.ui_port(), {}, 0, "/search/flows/F/runs/1?key=x"));
    EXPECT_EQ(refused.ui_client().get("/search/flows/F/runs/1?key=x").status, 403u);
}

}  // namespace
}  // namespace mf::testing
