// The conversion between Beast's messages and the server's Request and Reply, which the
// server and the HTTP fuzzer share.

#include "http/beast_message.hpp"

#include <gtest/gtest.h>

namespace mf::http {
namespace {

bhttp::request<bhttp::string_body> message(std::string target) {
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, target, 11};
    request.set("X-Api-Key", "secret");
    request.body() = "{}";
    return request;
}

TEST(BeastMessage, RequestHasLowerCaseHeadersTheDecodedQueryAndTheBody) {
    auto from = message("/flows/F/runs?_limit=5&tag=a%3Ab");
    auto request = to_request(from);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->method, "POST");
    EXPECT_EQ(request->target, "/flows/F/runs?_limit=5&tag=a%3Ab");
    ASSERT_NE(request->header("x-api-key"), nullptr);
    EXPECT_EQ(*request->header("x-api-key"), "secret");
    ASSERT_NE(request->query_value("tag"), nullptr);
    EXPECT_EQ(*request->query_value("tag"), "a:b");
    EXPECT_EQ(request->body, "{}");
}

TEST(BeastMessage, MalformedQueryStringGivesNoRequest) {
    auto from = message("/flows?tag=%zz");
    EXPECT_FALSE(to_request(from).has_value());
}

TEST(BeastMessage, ResponseCarriesTheVersionHeaderAndLengthUnlessTheReplyCloses) {
    Reply reply;
    reply.status = 201;
    reply.body = "\"ok\"";
    reply.content_type = "application/json";
    reply.headers.emplace_back("X-Next-Cursor", "abc");
    auto kept = to_response(Reply(reply), 11, true, "2.5.1");
    EXPECT_EQ(kept.result_int(), 201u);
    EXPECT_EQ(kept["METADATA_SERVICE_VERSION"], "2.5.1");
    EXPECT_EQ(kept[bhttp::field::content_type], "application/json");
    EXPECT_EQ(kept["X-Next-Cursor"], "abc");
    EXPECT_EQ(kept[bhttp::field::content_length], "4");
    EXPECT_TRUE(kept.keep_alive());

    reply.version_header = false;
    reply.close_connection = true;
    auto closed = to_response(std::move(reply), 11, true, "2.5.1");
    EXPECT_EQ(closed.count("METADATA_SERVICE_VERSION"), 0u);
    EXPECT_FALSE(closed.keep_alive());
}

}  // namespace
}  // namespace mf::http
