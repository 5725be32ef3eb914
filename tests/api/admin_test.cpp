// The admin routes: /ping, /version, /healthcheck, /auth/token.

#include <gtest/gtest.h>

#include "api/api_test_util.hpp"

namespace mf::testing::api {
namespace {

class ApiAdmin : public ::testing::Test {
protected:
    TestServer server;
    HttpClient client = server.client();
};

TEST_F(ApiAdmin, PingAnswersPongWithTheVersionHeader) {
    auto r = client.get("/ping");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "pong");
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    EXPECT_EQ(r.header(kVersionHeader), kServiceVersion);
    EXPECT_EQ(r.header("content-length"), "4");
}

TEST_F(ApiAdmin, VersionAnswersTheVersionWithoutTheVersionHeader) {
    auto r = client.get("/version");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, kServiceVersion);  // no trailing newline
    EXPECT_EQ(r.header("content-type").rfind("text/plain", 0), 0u) << r.header("content-type");
    expect_no_version_header(r);
}

TEST_F(ApiAdmin, HealthcheckIsDoubleEncodedJsonWithApplicationJson) {
    auto r = client.get("/healthcheck");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("content-type"), "application/json");
    expect_version_header(r);
    EXPECT_EQ(r.body, R"("{\"status\": \"UP\"}")");
    EXPECT_EQ(double_decoded(r), json::value({{"status", "UP"}}));
}

TEST_F(ApiAdmin, AuthTokenIsAlways500WithErrMsgAndTraceback) {
    auto r = client.get("/auth/token");
    EXPECT_EQ(r.status, 500u);
    expect_no_version_header(r);
    EXPECT_EQ(r.header("content-type"), kTextPlain);
    auto body = object_of(r);
    ASSERT_TRUE(body.contains("err_msg")) << r.body;
    ASSERT_TRUE(body.contains("traceback")) << r.body;
    EXPECT_TRUE(body.at("err_msg").is_string());
    EXPECT_FALSE(body.at("err_msg").as_string().empty());
    EXPECT_TRUE(body.at("traceback").is_string());
    // Never any credentials.
    EXPECT_FALSE(body.contains("aws_access_key_id"));
    EXPECT_EQ(r.body.find("aws_secret_access_key"), std::string::npos);
}

TEST_F(ApiAdmin, AuthTokenErrorKeepsTheConnectionUsable) {
    EXPECT_EQ(client.get("/auth/token").status, 500u);
    auto r = client.get("/auth/token");
    EXPECT_EQ(r.status, 500u);
    expect_no_version_header(r);
    // The connection is still usable afterwards.
    EXPECT_EQ(client.get("/ping").body, "pong");
}

TEST_F(ApiAdmin, RequestHeadersAreIgnored) {
    auto r = client.request("GET", "/ping", {},
                            {{"x-api-key", "secret"},
                             {"Authorization", "Bearer nonsense"},
                             {"Content-Type", "application/xml"}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "pong");
    expect_version_header(r);
}

TEST_F(ApiAdmin, AdminRoutesIgnoreTheQueryString) {
    auto r = client.get("/ping?_limit=-5&_cursor=garbage&x=1");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "pong");
    auto v = client.get("/version?foo=bar");
    EXPECT_EQ(v.status, 200u);
    EXPECT_EQ(v.body, kServiceVersion);
}

TEST_F(ApiAdmin, ResponsesUseContentLengthNotChunked) {
    for (const char* path : {"/ping", "/version", "/healthcheck", "/auth/token"}) {
        auto r = client.get(path);
        EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size())) << path;
        EXPECT_FALSE(r.has_header("transfer-encoding")) << path;
    }
}

TEST_F(ApiAdmin, AdminRoutesOnlyAcceptGet) {
    for (const char* path : {"/ping", "/version", "/healthcheck", "/auth/token"}) {
        auto r = client.post(path, "{}");
        EXPECT_EQ(r.status, 405u) << path;
        EXPECT_EQ(r.body, "405: Method Not Allowed") << path;
        EXPECT_EQ(r.header("allow"), "GET") << path;
    }
}

}  // namespace
}  // namespace mf::testing::api
