// Access control through real HTTP: API keys, address allow-lists, X-Forwarded-For from
// trusted proxies only, rate limits.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_server.hpp"

namespace mf::testing {
namespace {

const http::Fields kWriter = {{"x-api-key", "writer-secret"}};
const http::Fields kReader = {{"x-api-key", "reader-secret"}};

TestServerOptions with_keys() {
    TestServerOptions options;
    options.security.api_keys = "ci:writer-secret,dashboard:reader-secret read-only";
    return options;
}

// One concrete path for every route of the metadata API (docs/api.md#routes).
const std::vector<std::pair<std::string, std::string>> kRoutes = {
    {"GET", "/version"},
    {"GET", "/healthcheck"},
    {"GET", "/ready"},
    {"GET", "/metrics"},
    {"GET", "/auth/token"},
    {"GET", "/flows"},
    {"GET", "/flows/F"},
    {"POST", "/flows/F"},
    {"GET", "/flows/F/runs"},
    {"GET", "/flows/F/runs/1"},
    {"POST", "/flows/F/run"},
    {"POST", "/flows/F/runs/1/heartbeat"},
    {"PATCH", "/flows/F/runs/1/tag/mutate"},
    {"GET", "/flows/F/runs/1/steps"},
    {"GET", "/flows/F/runs/1/steps/s"},
    {"POST", "/flows/F/runs/1/steps/s/step"},
    {"GET", "/flows/F/runs/1/steps/s/tasks"},
    {"GET", "/flows/F/runs/1/steps/s/filtered_tasks"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1"},
    {"POST", "/flows/F/runs/1/steps/s/task"},
    {"POST", "/flows/F/runs/1/steps/s/tasks/1/heartbeat"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1/metadata"},
    {"GET", "/flows/F/runs/1/metadata"},
    {"POST", "/flows/F/runs/1/steps/s/tasks/1/metadata"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1/artifacts/a"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1/artifacts/a/attempt/0"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1/artifacts"},
    {"GET", "/flows/F/runs/1/steps/s/tasks/1/attempt/0/artifacts"},
    {"GET", "/flows/F/runs/1/steps/s/artifacts"},
    {"GET", "/flows/F/runs/1/artifacts"},
    {"GET", "/no/such/route"},
};

TEST(Security, EveryRouteButPingRefusesWithoutAKey) {
    TestServer server(with_keys());
    auto client = server.client();
    auto before = server.row_counts();
    for (const auto& [method, path] : kRoutes) {
        auto response = client.request(method, path, method == "GET" ? "" : "{}");
        EXPECT_EQ(response.status, 401u) << method << " " << path;
        EXPECT_TRUE(response.json().is_object()) << path;
        EXPECT_TRUE(response.has_header("x-request-id"));
    }
    EXPECT_EQ(server.row_counts(), before);
    auto ping = client.get("/ping");
    EXPECT_EQ(ping.status, 200u);
    EXPECT_EQ(ping.body, "pong");
}

TEST(Security, WrongKeyIsRefused) {
    TestServer server(with_keys());
    auto client = server.client();
    auto response = client.request("GET", "/flows", "", {{"x-api-key", "writer-secreT"}});
    EXPECT_EQ(response.status, 401u);
    EXPECT_EQ(response.json().at("status").as_int64(), 401);
}

TEST(Security, RightKeyReachesEveryRoute) {
    TestServer server(with_keys());
    auto client = server.client();
    for (const auto& [method, path] : kRoutes) {
        auto response = client.request(method, path, method == "GET" ? "" : "{}", kWriter);
        EXPECT_NE(response.status, 401u) << method << " " << path;
        EXPECT_NE(response.status, 403u) << method << " " << path;
    }
}

TEST(Security, ReadOnlyKeyReadsButCannotWrite) {
    TestServer server(with_keys());
    auto client = server.client();
    ASSERT_EQ(client.request("POST", "/flows/F", "{}", kWriter).status, 200u);
    EXPECT_EQ(client.request("GET", "/flows/F", "", kReader).status, 200u);
    auto before = server.row_counts();
    auto refused = client.request("POST", "/flows/G", "{}", kReader);
    EXPECT_EQ(refused.status, 403u);
    EXPECT_NE(refused.json().at("detail").as_string().find("dashboard"), std::string::npos);
    EXPECT_EQ(client.request("PATCH", "/flows/F/runs/1/tag/mutate", "{}", kReader).status, 403u);
    EXPECT_EQ(server.row_counts(), before);
}

TEST(Security, AddressOutsideTheAllowListIsRefused) {
    TestServerOptions options;
    options.security.allow_cidrs = {"127.0.0.2/32", "10.0.0.0/8"};
    TestServer server(options);
    auto client = server.client();  // connects from 127.0.0.1
    auto response = client.get("/flows");
    EXPECT_EQ(response.status, 403u);
    EXPECT_NE(response.json().at("detail").as_string().find("127.0.0.1"), std::string::npos);
}

TEST(Security, AllowedAddressIsServed) {
    TestServerOptions options;
    options.security.allow_cidrs = {"127.0.0.0/8"};
    TestServer server(options);
    EXPECT_EQ(server.client().get("/flows").status, 200u);
}

TEST(Security, ForwardedForFromAnUntrustedPeerIsIgnored) {
    TestServerOptions options;
    options.security.allow_cidrs = {"10.0.0.0/8"};
    TestServer server(options);
    auto response = server.client().request("GET", "/flows", "", {{"x-forwarded-for", "10.1.2.3"}});
    EXPECT_EQ(response.status, 403u);
}

TEST(Security, ForwardedForFromATrustedProxyCounts) {
    TestServerOptions options;
    options.security.allow_cidrs = {"10.0.0.0/8"};
    options.security.trusted_proxies = {"127.0.0.1/32"};
    TestServer server(options);
    auto client = server.client();
    EXPECT_EQ(client.request("GET", "/flows", "", {{"x-forwarded-for", "10.1.2.3"}}).status, 200u);
    // The client is the nearest hop the proxy vouches for, not what the client wrote first.
    EXPECT_EQ(
        client.request("GET", "/flows", "", {{"x-forwarded-for", "10.9.9.9, 203.0.113.5"}}).status,
        403u);
}

TEST(Security, BurstBeyondTheRateLimitGets429WithRetryAfter) {
    TestServerOptions options;
    options.security.rate_limit = 1;
    options.security.rate_burst = 5;
    TestServer server(options);
    auto client = server.client();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(client.get("/flows").status, 200u) << i;
    auto limited = client.get("/flows");
    EXPECT_EQ(limited.status, 429u);
    EXPECT_EQ(limited.header("retry-after"), "1");
    EXPECT_EQ(limited.json().at("status").as_int64(), 429);
}

TEST(Security, RequestIdIsKeptOrMade) {
    TestServer server;
    auto client = server.client();
    EXPECT_EQ(
        client.request("GET", "/ping", "", {{"x-request-id", "abc-123"}}).header("x-request-id"),
        "abc-123");
    auto made = client.get("/ping").header("x-request-id");
    EXPECT_EQ(made.size(), 16u);
    EXPECT_NE(made, client.get("/ping").header("x-request-id"));
}

TEST(Security, ReadinessFollowsTheDatabase) {
    TestServer server;
    auto response = server.client().get("/ready");
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.json().at("status").as_string(), "ready");
}

TEST(Security, MigrationListenerHasItsOwnAllowList) {
    TestServerOptions options;
    options.security.allow_cidrs = {"127.0.0.0/8"};
    options.security.migration_allow_cidrs = {"10.0.0.0/8"};
    TestServer server(options);
    if (server.migration_port() == 0) GTEST_SKIP() << "the migration API runs on PostgreSQL only";
    EXPECT_EQ(server.client().get("/flows").status, 200u);
    auto refused = HttpClient(server.migration_port()).get("/db_schema_status");
    EXPECT_EQ(refused.status, 403u);
    EXPECT_TRUE(refused.json().is_object());
}

}  // namespace
}  // namespace mf::testing
