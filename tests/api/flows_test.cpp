// The flow routes: GET /flows, GET and POST /flows/{flow_id}; pagination (docs/api.md#pagination)
// on the flow list.

#include <gtest/gtest.h>

#include <algorithm>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

class ApiFlows : public ::testing::Test {
protected:
    TestServer server{manual_clock_options()};
    HttpClient client = server.client();

    void at(std::int64_t ms) { server.clock().set_ms(ms); }
};

TEST_F(ApiFlows, CreateReturnsTheFlowStampedByTheServerClock) {
    at(1'718'000'000'050);
    // What the Metaflow client sends: flow_id and ts_epoch in the body are ignored.
    auto r = client.post("/flows/HelloFlow", R"({"flow_id": "Other", "ts_epoch": 1718000000000})");
    expect_ok_json(r);
    auto flow = object_of(r);
    expect_keys(flow, kFlowKeys);
    EXPECT_EQ(flow["flow_id"], "HelloFlow");
    EXPECT_TRUE(flow["user_name"].is_null());
    EXPECT_EQ(flow["ts_epoch"], 1'718'000'000'050);
    EXPECT_TRUE(flow["tags"].is_null());
    EXPECT_TRUE(flow["system_tags"].is_null());
    EXPECT_EQ(rows_in(server, "flows_v3"), 1);
}

TEST_F(ApiFlows, CreateStoresUserAndTagsAsPosted) {
    auto flow = create_flow(client, "TaggedFlow",
                            {{"user_name", "alice"},
                             {"tags", json::array{"b", "a"}},
                             {"system_tags", json::array{"user:alice"}}});
    EXPECT_EQ(flow["user_name"], "alice");
    EXPECT_EQ(flow["tags"], json::value(json::array{"b", "a"}));
    EXPECT_EQ(flow["system_tags"], json::value(json::array{"user:alice"}));
    auto read = get_object(client, "/flows/TaggedFlow");
    EXPECT_EQ(read, flow);
}

TEST_F(ApiFlows, TextRoundTripsExactly) {
    // Quotes, backslashes, control characters and non-ASCII text survive as posted.
    const std::string user = "al\"ice\\ \n\t\x01 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    json::array tags{"tag with \"quotes\"", "\xe6\x97\xa5\xe6\x9c\xac", ""};
    auto created = create_flow(client, "TextFlow", {{"user_name", user}, {"tags", tags}});
    EXPECT_EQ(created["user_name"], user.c_str());
    EXPECT_EQ(created["tags"], json::value(tags));
    auto read = get_object(client, "/flows/TextFlow");
    EXPECT_EQ(read["user_name"].as_string(), user);
    EXPECT_EQ(read["tags"], json::value(tags));
}

TEST_F(ApiFlows, TagsKeepTheirOrderAndDuplicates) {
    json::array tags{"b", "a", "b"};
    auto created = create_flow(client, "DupFlow", {{"tags", tags}, {"system_tags", json::array{}}});
    EXPECT_EQ(created["tags"], json::value(tags));
    EXPECT_EQ(created["system_tags"], json::value(json::array{}));
    EXPECT_EQ(get_object(client, "/flows/DupFlow")["tags"], json::value(tags));
}

TEST_F(ApiFlows, CreateAcceptsAnEmptyObject) {
    auto r = client.post("/flows/Bare", "{}");
    expect_ok_json(r);
    EXPECT_EQ(object_of(r)["flow_id"], "Bare");
}

TEST_F(ApiFlows, DuplicateCreateIs409DoubleEncodedErrMsg) {
    create_flow(client, "HelloFlow", {{"user_name", "first"}});
    auto r = client.post("/flows/HelloFlow", R"({"user_name": "second"})");
    expect_db_error(r, 409);
    expect_version_header(r);
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    EXPECT_EQ(rows_in(server, "flows_v3"), 1);
    // The first flow is untouched.
    EXPECT_EQ(get_object(client, "/flows/HelloFlow")["user_name"], "first");
}

TEST_F(ApiFlows, GetReturnsTheStoredFlow) {
    at(1'718'000'000'000);
    auto created = create_flow(client, "HelloFlow");
    at(1'718'000'009'999);
    auto r = client.get("/flows/HelloFlow");
    expect_ok_json(r);
    auto flow = object_of(r);
    expect_keys(flow, kFlowKeys);
    EXPECT_EQ(flow, created);
    EXPECT_EQ(flow["ts_epoch"], 1'718'000'000'000);  // creation time, not read time
}

TEST_F(ApiFlows, GetMissingFlowIs404EmptyObject) {
    expect_not_found(client.get("/flows/NoSuchFlow"));
    create_flow(client, "HelloFlow");
    expect_not_found(client.get("/flows/helloflow"));  // ids are case-sensitive
}

TEST_F(ApiFlows, FlowIdIsPercentDecoded) {
    auto flow = create_flow(client, "Hello%20Flow");
    EXPECT_EQ(flow["flow_id"], "Hello Flow");
    EXPECT_EQ(get_object(client, "/flows/Hello%20Flow")["flow_id"], "Hello Flow");
}

TEST_F(ApiFlows, LegacyListIsEmptyOnAFreshDatabase) {
    auto r = client.get("/flows");
    expect_ok_json(r);
    expect_legacy_list(r);
    EXPECT_EQ(r.body, "[]");
}

TEST_F(ApiFlows, LegacyListReturnsEveryFlowWithoutPagingHeaders) {
    for (int i = 0; i < 60; ++i) {  // more than the default page size
        at(1'718'000'000'000 + i);
        create_flow(client, "Flow" + std::to_string(i));
    }
    auto r = client.get("/flows");
    expect_ok_json(r);
    expect_legacy_list(r);
    auto flows = array_of(r);
    ASSERT_EQ(flows.size(), 60u);
    auto ids = column(flows, "flow_id");
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 60u);
    for (const auto& flow : flows) expect_keys(flow.as_object(), kFlowKeys);
}

TEST_F(ApiFlows, PaginatedListWalksEveryFlowOnceNewestFirst) {
    // Created out of name order, at distinct times.
    const std::vector<std::string> names = {"C", "A", "E", "B", "D", "F"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        at(1'718'000'000'000 + static_cast<std::int64_t>(i) * 1000);
        create_flow(client, names[i]);
    }
    auto walk = walk_pages(client, "/flows", 2);
    EXPECT_EQ(walk.pages, 3);  // 6 rows, 2 per page: no empty 4th page
    EXPECT_EQ(column(walk.rows, "flow_id"),
              (std::vector<std::string>{"F", "D", "B", "E", "A", "C"}));
}

TEST_F(ApiFlows, PaginatedListBreaksTiesByFlowIdDescending) {
    at(1'718'000'000'000);
    for (const char* name : {"b", "a", "c"}) create_flow(client, name);
    at(1'718'000'000'001);
    create_flow(client, "newest");
    auto walk = walk_pages(client, "/flows", 1);
    EXPECT_EQ(walk.pages, 4);
    EXPECT_EQ(column(walk.rows, "flow_id"), (std::vector<std::string>{"newest", "c", "b", "a"}));
}

TEST_F(ApiFlows, CursorIsBase64OfTsEpochAndFlowIdOfTheLastRow) {
    at(1'718'000'000'000);
    create_flow(client, "OlderFlow");
    at(1'718'000'000'123);
    create_flow(client, "HelloFlow");
    auto r = client.get("/flows?_limit=1");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "1");
    EXPECT_EQ(column(array_of(r), "flow_id"), std::vector<std::string>{"HelloFlow"});
    // The reference's own reply, byte for byte.
    EXPECT_EQ(r.header("x-next-cursor"),
              "eyJ0c19lcG9jaCI6IDE3MTgwMDAwMDAxMjMsICJmbG93X2lkIjogIkhlbGxvRmxvdyJ9");
    auto cursor = cursor_json(r.header("x-next-cursor"));
    EXPECT_EQ(cursor, json::value({{"ts_epoch", 1'718'000'000'123}, {"flow_id", "HelloFlow"}}));
}

TEST_F(ApiFlows, LastPageHasNoCursor) {
    create_flow(client, "Only");
    auto r = client.get("/flows?_limit=5");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "5");
    EXPECT_FALSE(r.has_header("x-next-cursor"));
    EXPECT_EQ(array_of(r).size(), 1u);
}

TEST_F(ApiFlows, EmptyLimitOrCursorTurnsPagingOnWithTheDefaultLimit) {
    create_flow(client, "Only");
    for (const char* query : {"?_limit=", "?_cursor=", "?_limit=&_cursor="}) {
        auto r = client.get(std::string("/flows") + query);
        expect_ok_json(r);
        EXPECT_EQ(r.header("x-limit"), "50") << query;
        EXPECT_FALSE(r.has_header("x-next-cursor")) << query;
        EXPECT_EQ(array_of(r).size(), 1u) << query;
    }
}

TEST_F(ApiFlows, DefaultPageSizeIs50) {
    for (int i = 0; i < 51; ++i) {
        at(1'718'000'000'000 + i);
        create_flow(client, "Flow" + std::to_string(i));
    }
    auto r = client.get("/flows?_limit=");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "50");
    EXPECT_EQ(array_of(r).size(), 50u);
    ASSERT_TRUE(r.has_header("x-next-cursor"));
    auto rest = client.get("/flows?_cursor=" + url_encode(r.header("x-next-cursor")));
    EXPECT_EQ(rest.header("x-limit"), "50");
    EXPECT_EQ(column(array_of(rest), "flow_id"), std::vector<std::string>{"Flow0"});
}

TEST_F(ApiFlows, LimitZeroIsAnEmptyPage) {
    create_flow(client, "Only");
    auto r = client.get("/flows?_limit=0");
    expect_ok_json(r);
    EXPECT_EQ(r.body, "[]");
    EXPECT_EQ(r.header("x-limit"), "0");
    EXPECT_FALSE(r.has_header("x-next-cursor"));
}

TEST_F(ApiFlows, LimitIsCappedAt500) {
    create_flow(client, "Only");
    auto r = client.get("/flows?_limit=100000");
    expect_ok_json(r);
    EXPECT_EQ(r.header("x-limit"), "500");
    EXPECT_EQ(array_of(r).size(), 1u);
}

TEST_F(ApiFlows, CursorPastTheEndIsAnEmptyPage) {
    create_flow(client, "Only");
    auto cursor = base64_encode(R"({"ts_epoch": 0, "flow_id": ""})");
    auto r = client.get("/flows?_cursor=" + url_encode(cursor));
    expect_ok_json(r);
    EXPECT_EQ(r.body, "[]");
    EXPECT_FALSE(r.has_header("x-next-cursor"));
}

TEST_F(ApiFlows, HandMadeCursorSelectsRowsStrictlyBeforeIt) {
    at(1000);
    create_flow(client, "a");
    create_flow(client, "b");
    at(2000);
    create_flow(client, "c");
    // (1000, "b") excludes itself and everything newer.
    auto cursor = base64_encode(R"({"ts_epoch": 1000, "flow_id": "b"})");
    auto rows = get_array(client, "/flows?_cursor=" + url_encode(cursor));
    EXPECT_EQ(column(rows, "flow_id"), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace mf::testing::api
