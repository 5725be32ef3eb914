// Inputs found by the fuzz targets (tests/fuzz), each reproduced through the normal build:
// the smallest request that broke an invariant, and what must hold instead.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/json_writer.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

std::string parsed_string(const std::string& literal) {
    boost::system::error_code ec;
    auto value = json::parse(literal, ec);
    EXPECT_FALSE(ec) << "not JSON: " << literal;
    return ec || !value.is_string() ? std::string("<not a JSON string>")
                                    : std::string(value.as_string());
}

// fuzz_http: a raw byte that is not UTF-8 in the path came back inside a JSON error body, which was
// then not JSON (Boost.JSON and Python's json both refuse invalid UTF-8).
TEST(FuzzRegressions, JsonStringsReplaceInvalidUtf8) {
    EXPECT_EQ(parsed_string(api::json_string("Ac\xff"
                                             "cFlow")),
              "Ac\xEF\xBF\xBD"
              "cFlow");
    // Well-formed sequences of every length stay as they are.
    EXPECT_EQ(parsed_string(api::json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")),
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    // Overlong, surrogate, beyond U+10FFFF, truncated, stray continuation byte.
    for (std::string bad :
         {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80", "x\xF0\x9F\x98"}) {
        auto text = parsed_string(api::json_string(bad));
        EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos) << text;
    }
}

TEST(FuzzRegressions, InvalidUtf8InThePathGivesJsonErrorsAndListings) {
    TestServer server;
    auto client = server.client();
    auto missing = client.post(
        "/flows/Ac\xff"
        "cConc/runs/14/steps/end/step",
        R"({"user_name": "u", "tags": [], "system_tags": []})");
    // 404 on SQLite; a client error either way, with a JSON body.
    EXPECT_EQ(missing.status / 100, 4u) << missing.body;
    missing.json();

    // A flow whose name is not UTF-8: SQLite stores it, PostgreSQL refuses the bytes; either
    // way every reply about it, and the listing after it, is JSON.
    auto created = client.post(
        "/flows/Bad\xfe"
        "Flow",
        R"({"user_name": "u"})");
    auto reply = created.json();
    if (created.status == 200) {
        EXPECT_EQ(reply.at("flow_id").as_string(),
                  "Bad\xEF\xBF\xBD"
                  "Flow");
    } else {
        EXPECT_GE(created.status, 400u) << created.body;
    }
    auto listing = client.get("/flows");
    ASSERT_EQ(listing.status, 200u);
    EXPECT_TRUE(listing.json().is_array()) << listing.body;
}

// fuzz_http: a run filter on tags or system_tags whose value is not JSON
// (GET /flows/F/runs?tags=a) reached SQLite's json() and came back as a 500.
TEST(FuzzRegressions, TagsFilterThatIsNotJsonIsAClientError) {
    TestServer server;
    auto client = server.client();
    ASSERT_EQ(client.post("/flows/F", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(client.post("/flows/F/run", R"({"user_name": "u", "tags": ["c"]})").status, 200u);
    for (std::string query : {"tags", "tags=", "tags=a", "system_tags:ne=%7B", "tags=%5B%22c%22"}) {
        auto reply = client.get("/flows/F/runs?" + query);
        EXPECT_EQ(reply.status, 400u) << query << ": " << reply.body;
        EXPECT_NE(std::string(reply.json().as_string()).find("expected JSON"), std::string::npos)
            << reply.body;
    }
    auto matching = client.get("/flows/F/runs?tags=" + url_encode(R"(["c"])"));
    ASSERT_EQ(matching.status, 200u) << matching.body;
    EXPECT_EQ(matching.json().as_array().size(), 1u);
    EXPECT_EQ(client.get("/flows/F/runs?tags=null").status, 200u);
}

}  // namespace
}  // namespace mf::testing
