// The list grammar of the UI routes on each store: every filter operator, OR-ed values,
// null, order, groups, tags and the paging edges, with the reference's answers to bad values.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "ui/ui_test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

class UiGrammar : public ::testing::Test {
protected:
    void SetUp() override {
        server_.clock().set_ms(1'800'000'000'000);
        server_.execute(
            "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) VALUES "
            "('AlphaFlow', 'ann', 100, '[\"t1\"]', '[\"user:ann\"]'), ('BetaFlow', 'bob', 200, "
            "'[]', '[\"user:bob\"]'), ('Gamma_Flow', NULL, 300, '[\"t1\", \"t2\"]', '[]')");
        // Runs 1-4 of AlphaFlow and 5-6 of BetaFlow; run 6 has no verified user.
        const char* runs[] = {
            "('AlphaFlow', 1, NULL, 'ann', 1000, '[\"a\", \"shared\"]', '[\"user:ann\"]', NULL)",
            "('AlphaFlow', 2, NULL, 'ann', 2000, '[\"b\"]', '[\"user:ann\"]', NULL)",
            "('AlphaFlow', 3, 'named-3', 'ann', 3000, '[\"shared\"]', '[\"user:ann\"]', NULL)",
            "('AlphaFlow', 4, NULL, 'bob', 4000, '[]', '[\"user:bob\"]', NULL)",
            "('BetaFlow', 5, NULL, 'bob', 5000, '[\"shared\", \"c\"]', '[\"user:bob\"]', NULL)",
            "('BetaFlow', 6, NULL, 'eve', 6000, '[]', '[\"runtime:dev\"]', NULL)",
        };
        for (const char* row : runs) {
            server_.execute(
                std::string("INSERT INTO runs_v3 (flow_id, run_number, run_id, user_name, "
                            "ts_epoch, tags, system_tags, last_heartbeat_ts) VALUES ") +
                row);
        }
    }

    json::object get(const std::string& target, unsigned status = 200) {
        auto response = server_.client().get(target);
        EXPECT_EQ(response.status, status) << target << ": " << response.body;
        return response.json().as_object();
    }

    // The run numbers of a run list, in order.
    std::vector<std::int64_t> runs(const std::string& target) {
        std::vector<std::int64_t> numbers;
        const auto body = get(target);
        for (const auto& row : body.at("data").as_array())
            numbers.push_back(row.at("run_number").as_int64());
        return numbers;
    }

    std::set<std::int64_t> run_set(const std::string& target) {
        auto list = runs(target);
        return {list.begin(), list.end()};
    }

    UiTestServer server_;
};

using Numbers = std::vector<std::int64_t>;
using NumberSet = std::set<std::int64_t>;

TEST_F(UiGrammar, ComparisonOperators) {
    EXPECT_EQ(run_set("/runs?run_number=2"), NumberSet({2}));
    EXPECT_EQ(run_set("/runs?run_number:eq=2"), NumberSet({2}));
    EXPECT_EQ(run_set("/runs?run_number:ne=2"), NumberSet({1, 3, 4, 5, 6}));
    EXPECT_EQ(run_set("/runs?ts_epoch:lt=3000"), NumberSet({1, 2}));
    EXPECT_EQ(run_set("/runs?ts_epoch:le=3000"), NumberSet({1, 2, 3}));
    EXPECT_EQ(run_set("/runs?ts_epoch:gt=5000"), NumberSet({6}));
    EXPECT_EQ(run_set("/runs?ts_epoch:ge=5000"), NumberSet({5, 6}));
}

TEST_F(UiGrammar, TextOperatorsIgnoreCaseAndKeepWildcards) {
    EXPECT_EQ(run_set("/runs?flow_id:co=LPH"), NumberSet({1, 2, 3, 4}));
    EXPECT_EQ(run_set("/runs?flow_id:sw=beta"), NumberSet({5, 6}));
    EXPECT_EQ(run_set("/runs?flow_id:ew=TAFLOW"), NumberSet({5, 6}));
    EXPECT_EQ(run_set("/runs?flow_id:li=al%25w"), NumberSet({1, 2, 3, 4}));
    // "_" is a wildcard, as in the reference's unescaped ILIKE.
    auto flows = get("/flows?flow_id:co=a_low").at("data").as_array();
    EXPECT_EQ(flows.size(), 2u);
}

TEST_F(UiGrammar, NullAndIs) {
    EXPECT_EQ(run_set("/runs?run_id:is=null"), NumberSet({1, 2, 4, 5, 6}));
    EXPECT_EQ(run_set("/runs?run_id=null"), NumberSet({1, 2, 4, 5, 6}));
    EXPECT_EQ(run_set("/runs?user=null"), NumberSet({6}));
    EXPECT_EQ(run_set("/runs?run_id:is=named-3"), NumberSet({3}));
}

TEST_F(UiGrammar, CommaIsOrAndKeysAreAnded) {
    EXPECT_EQ(run_set("/runs?run_number=1,5,6"), NumberSet({1, 5, 6}));
    EXPECT_EQ(run_set("/runs?run_number=1,5,6&flow_id=BetaFlow"), NumberSet({5, 6}));
    EXPECT_EQ(run_set("/runs?run=named-3,2"), NumberSet({2, 3}));
}

TEST_F(UiGrammar, UnknownFieldsOperatorsAndColumnsAreIgnored) {
    EXPECT_EQ(run_set("/runs?bogus=1"), NumberSet({1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(run_set("/runs?flow_id:zz=x"), NumberSet({1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(runs("/runs?_order=%2Bnope,%2Brun_number"), Numbers({1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(run_set("/runs?_group=nope"), NumberSet({1, 2, 3, 4, 5, 6}));
}

TEST_F(UiGrammar, OrderBareIsDescending) {
    EXPECT_EQ(runs("/runs?_order=ts_epoch"), Numbers({6, 5, 4, 3, 2, 1}));
    EXPECT_EQ(runs("/runs?_order=-ts_epoch"), Numbers({6, 5, 4, 3, 2, 1}));
    EXPECT_EQ(runs("/runs?_order=%2Bts_epoch"), Numbers({1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(runs("/runs?_order=%2Buser_name,-run_number"), Numbers({3, 2, 1, 5, 4, 6}));
    // A raw + decodes to a space: the column is unknown and dropped.
    EXPECT_EQ(runs("/runs?_order=+ts_epoch,%2Brun_number"), Numbers({1, 2, 3, 4, 5, 6}));
}

TEST_F(UiGrammar, TagFiltersInFourForms) {
    EXPECT_EQ(run_set("/runs?_tags=shared"), NumberSet({1, 3, 5}));
    EXPECT_EQ(run_set("/runs?_tags=shared,a"), NumberSet({1}));
    EXPECT_EQ(run_set("/runs?_tags:all=shared,user:bob"), NumberSet({5}));
    EXPECT_EQ(run_set("/runs?_tags:any=a,c"), NumberSet({1, 5}));
    EXPECT_EQ(run_set("/runs?_tags:likeall=har,user:a"), NumberSet({1, 3}));
    EXPECT_EQ(run_set("/runs?_tags:likeany=runtime,user:b"), NumberSet({4, 5, 6}));
    EXPECT_EQ(get("/flows?_tags=t1").at("data").as_array().size(), 2u);
}

TEST_F(UiGrammar, GroupsPageGroupsAndKeepTheirFirstRows) {
    auto rows = get("/runs?_group=flow_id&_group_limit=2&_order=-ts_epoch").at("data").as_array();
    Numbers numbers;
    for (const auto& row : rows) numbers.push_back(row.at("run_number").as_int64());
    EXPECT_EQ(numbers, Numbers({4, 3, 6, 5}));
    // _limit pages the groups: the second page of one group is BetaFlow.
    auto second = get("/runs?_group=flow_id&_group_limit=1&_limit=1&_page=2&_order=-ts_epoch");
    ASSERT_EQ(second.at("data").as_array().size(), 1u);
    EXPECT_EQ(second.at("data").as_array()[0].at("run_number"), json::value(6));
    // Groups of the verified user; runs without one form the last group.
    auto users = get("/runs?_group=user&_group_limit=1&_order=%2Bts_epoch").at("data").as_array();
    ASSERT_EQ(users.size(), 3u);
    EXPECT_EQ(users[0].at("user"), "ann");
    EXPECT_EQ(users[1].at("user"), "bob");
    EXPECT_TRUE(users[2].at("user").is_null());
}

TEST_F(UiGrammar, PagingEdges) {
    auto first = get("/runs?_limit=4&_order=%2Brun_number");
    EXPECT_EQ(first.at("pages").at("next"), json::value(2));
    EXPECT_EQ(first.at("links").at("next"),
              "http://127.0.0.1/runs?_limit=4&_order=%2Brun_number&_page=2");
    auto last = get("/runs?_limit=4&_order=%2Brun_number&_page=2");
    EXPECT_EQ(last.at("data").as_array().size(), 2u);
    EXPECT_TRUE(last.at("pages").at("next").is_null());
    EXPECT_EQ(last.at("pages").at("prev"), json::value(1));
    auto beyond = get("/runs?_limit=4&_page=9");
    EXPECT_TRUE(beyond.at("data").as_array().empty());
    EXPECT_EQ(beyond.at("pages").at("prev"), json::value(8));
    // Bad numbers take their defaults; page 0 is page 1; limit 0 is every row.
    EXPECT_EQ(get("/runs?_limit=abc&_page=x").at("data").as_array().size(), 6u);
    EXPECT_EQ(get("/runs?_limit=2&_page=0").at("pages").at("self"), json::value(1));
    auto all = get("/runs?_limit=0");
    EXPECT_EQ(all.at("data").as_array().size(), 6u);
    EXPECT_EQ(all.at("pages").at("next"), json::value(2));  // count >= limit, as the reference
    // A negative limit is the reference's 500, with the reason as data.
    auto negative = get("/runs?_limit=-1", 500);
    EXPECT_TRUE(negative.at("data").is_string());
    EXPECT_EQ(negative.at("status"), json::value(500));
    auto bad_type = get("/runs?ts_epoch:gt=abc", 500);
    EXPECT_EQ(bad_type.at("query").at("ts_epoch:gt"), "abc");
}

TEST_F(UiGrammar, LimitIsCappedAtAThousand) {
    server_.execute(
        "INSERT INTO flows_v3 (flow_id, ts_epoch) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i + 1 FROM n WHERE i < 1005) SELECT 'Many' || CAST(i AS TEXT), i FROM n");
    auto capped = get("/flows?_limit=5000");
    EXPECT_EQ(capped.at("data").as_array().size(), 1000u);
    EXPECT_EQ(capped.at("pages").at("next"), json::value(2));
    EXPECT_EQ(get("/flows?_limit=0").at("data").as_array().size(), 1008u);
}

TEST_F(UiGrammar, LinksFollowForwardedHeadersAndEncodeAsTheReference) {
    auto response = server_.client().request(
        "GET", "/runs?_order=%2Bts_epoch&flow_id=a%20b&x=%2A", {},
        {{"X-Forwarded-Proto", "https, http"}, {"X-Forwarded-Host", "ui.example.com, proxy"}});
    auto body = response.json().as_object();
    EXPECT_EQ(body.at("links").at("self"),
              "https://ui.example.com/runs?_order=%2Bts_epoch&flow_id=a+b&x=%2A");
    EXPECT_EQ(body.at("query").at("flow_id"), "a b");
}

TEST_F(UiGrammar, SqlInFilterValuesIsData) {
    EXPECT_TRUE(get("/runs?flow_id=x%27%20OR%20%271%27%3D%271").at("data").as_array().empty());
    EXPECT_TRUE(
        get("/runs?flow_id:co=%27%3B%20DROP%20TABLE%20runs_v3%3B--").at("data").as_array().empty());
    EXPECT_EQ(run_set("/runs"), NumberSet({1, 2, 3, 4, 5, 6}));
}

TEST_F(UiGrammar, RunIdsAndNumbersInPaths) {
    EXPECT_EQ(get("/flows/AlphaFlow/runs/3").at("data").at("run"), "named-3");
    EXPECT_EQ(get("/flows/AlphaFlow/runs/named-3").at("data").at("run_number"), json::value(3));
    auto missing = get("/flows/BetaFlow/runs/3", 404);
    EXPECT_TRUE(missing.at("data").as_object().empty());
}

TEST_F(UiGrammar, Autocomplete) {
    auto flows = get("/flows/autocomplete?flow_id:co=flow&_limit=2").at("data").as_array();
    EXPECT_EQ(flows, json::array({"AlphaFlow", "BetaFlow"}));
    auto named = get("/flows/AlphaFlow/runs/autocomplete?run:co=3").at("data").as_array();
    EXPECT_EQ(named, json::array({"named-3"}));
    auto tags = get("/tags/autocomplete?tag:sw=user:").at("data").as_array();
    EXPECT_EQ(tags, json::array({"user:ann", "user:bob"}));
    auto re = get("/tags/autocomplete?tag:re=sh.*d").at("data").as_array();
    EXPECT_EQ(re, json::array({"shared"}));
}

}  // namespace
}  // namespace mf::testing
