// The UI listener of `serve`: its port beside the API's, access control by key (header or
// HTTP Basic) and network, the metadata API read-only under /metadata, metrics.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/process.hpp"
#include "support/test_server.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing::ui {
namespace {

std::string basic(std::string_view user_and_password) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < user_and_password.size(); i += 3) {
        unsigned n = (static_cast<unsigned char>(user_and_password[i]) << 16) |
                     (static_cast<unsigned char>(user_and_password[i + 1]) << 8) |
                     static_cast<unsigned char>(user_and_password[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
    }
    const auto rest = user_and_password.size() - i;
    if (rest > 0) {
        unsigned n = static_cast<unsigned char>(user_and_password[i]) << 16;
        if (rest == 2) n |= static_cast<unsigned char>(user_and_password[i + 1]) << 8;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return "Basic " + out;
}

TestServerOptions with_keys() {
    auto options = ui_options();
    options.security.api_keys = "writer:write-secret,viewer:view-secret read-only";
    return options;
}

TEST(UiListener, ServesOnItsOwnPortBesideTheApi) {
    TestServer server(ui_options());
    ASSERT_NE(server.ui_port(), 0u);
    EXPECT_NE(server.ui_port(), server.port());
    auto r = server.ui_client().get("/ping");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "pong");
    EXPECT_EQ(r.header("metadata_service_version"), "2.5.1");
    EXPECT_EQ(server.client().get("/ping").body, "pong");
}

TEST(UiListener, IsOffWithPortZero) {
    TestServer server;
    EXPECT_EQ(server.ui_port(), 0u);
}

TEST(UiListener, MetadataApiIsReadableUnderMetadataAndReadOnly) {
    TestServer server(ui_options());
    auto api = server.client();
    ASSERT_EQ(api.post("/flows/UiFlow", R"({"user_name": "ui"})").status, 200u);
    auto ui = server.ui_client();
    auto flow = ui.get("/metadata/flows/UiFlow");
    ASSERT_EQ(flow.status, 200u) << flow.body;
    EXPECT_EQ(flow.json().at("flow_id"), "UiFlow");
    EXPECT_EQ(ui.get("/metadata/flows").json().as_array().size(), 1u);
    EXPECT_EQ(ui.get("/metadata/ping").body, "pong");

    auto post = ui.request("POST", "/metadata/flows/Other", R"({"user_name": "ui"})",
                           {{"Content-Type", "application/json"}});
    EXPECT_EQ(post.status, 405u);
    EXPECT_EQ(post.header("allow"), "GET");
    EXPECT_EQ(post.body, "405: Method Not Allowed");
    auto heartbeat = ui.request("POST", "/metadata/flows/UiFlow/runs/1/heartbeat", "{}");
    EXPECT_EQ(heartbeat.status, 405u);
    EXPECT_EQ(api.get("/flows/Other").status, 404u);
    EXPECT_EQ(ui.get("/metadata/metrics").status, 404u);
}

TEST(UiListener, KeysAreRequiredByHeaderOrHttpBasic) {
    TestServer server(with_keys());
    auto ui = server.ui_client();
    auto missing = ui.get("/links");
    EXPECT_EQ(missing.status, 401u);
    EXPECT_EQ(missing.header("www-authenticate"), R"(Basic realm="Metaflow", charset="UTF-8")");
    EXPECT_EQ(ui.get("/").status, 401u);
    EXPECT_EQ(ui.get("/metadata/flows").status, 401u);

    EXPECT_EQ(ui.request("GET", "/links", {}, {{"x-api-key", "write-secret"}}).status, 200u);
    EXPECT_EQ(ui.request("GET", "/links", {}, {{"x-api-key", "view-secret"}}).status, 200u);
    EXPECT_EQ(ui.request("GET", "/links", {}, {{"x-api-key", "nope"}}).status, 401u);
    EXPECT_EQ(
        ui.request("GET", "/links", {}, {{"Authorization", basic("anyone:view-secret")}}).status,
        200u);
    EXPECT_EQ(ui.request("GET", "/metadata/flows", {}, {{"Authorization", basic(":write-secret")}})
                  .status,
              200u);
    EXPECT_EQ(ui.request("GET", "/links", {}, {{"Authorization", basic("viewer:wrong")}}).status,
              401u);
    EXPECT_EQ(ui.request("GET", "/links", {}, {{"Authorization", "Basic %%%"}}).status, 401u);
    EXPECT_EQ(ui.request("GET", "/links", {}, {{"Authorization", "Bearer view-secret"}}).status,
              401u);
    EXPECT_EQ(ui.get("/ping").status, 200u);

    // The API itself keeps taking keys by header only.
    auto api = server.client();
    EXPECT_EQ(api.request("GET", "/flows", {}, {{"Authorization", basic("a:write-secret")}}).status,
              401u);
    EXPECT_FALSE(api.get("/flows").has_header("www-authenticate"));
}

TEST(UiListener, AllowedNetworksAreItsOwn) {
    auto refused = ui_options();
    refused.ui_config.allow_cidrs = {"10.0.0.0/8"};
    TestServer closed(refused);
    EXPECT_EQ(closed.ui_client().get("/ping").status, 403u);
    EXPECT_EQ(closed.client().get("/ping").status, 200u);

    auto allowed = ui_options();
    allowed.ui_config.allow_cidrs = {"10.0.0.0/8", "127.0.0.0/8"};
    allowed.security.allow_cidrs = {"10.0.0.0/8"};
    TestServer open(allowed);
    EXPECT_EQ(open.ui_client().get("/ping").status, 200u);
    EXPECT_EQ(open.client().get("/ping").status, 403u);
}

TEST(UiListener, RequestsAreCountedUnderListenerUi) {
    TestServer server(ui_options());
    server.ui_client().get("/version");
    auto metrics = server.client().get("/metrics").body;
    EXPECT_NE(metrics.find(R"(listener="ui")"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(R"(route="/version")"), std::string::npos) << metrics;
}

TEST(UiListener, BinaryTakesItsOptionsFromFlagsAndEnvironment) {
    FakeBuild build;
    TempDir dir;
    const auto api_port = free_port();
    const auto ui_port = free_port();
    ServiceProcess process(
        {"serve", "--host", "127.0.0.1", "--port", std::to_string(api_port), "--database",
         "sqlite:" + (dir.path() / "m.db").string()},
        (dir.path() / "log").string(),
        {"MF_UI_METADATA_PORT=" + std::to_string(ui_port), "MF_UI_STATIC_DIR=" + build.path()});
    ASSERT_TRUE(process.wait_until_serving(api_port)) << process.log();
    ASSERT_TRUE(process.wait_until_serving(ui_port)) << process.log();
    HttpClient ui(ui_port);
    auto index = ui.get("/AccLinear_ui/1");
    EXPECT_EQ(index.status, 200u);
    EXPECT_NE(index.body.find("window.METAFLOW_SERVICE"), std::string::npos);

    std::string output;
    ASSERT_EQ(run_command(std::string(MF_BINARY) + " config --ui-port 9183 --ui-host 127.0.0.2 " +
                              "--ui-dir " + build.path() + " --ui-allow-cidr 10.0.0.0/8",
                          &output),
              0);
    EXPECT_NE(output.find("ui-port = 9183"), std::string::npos) << output;
    EXPECT_NE(output.find("ui-host = 127.0.0.2"), std::string::npos) << output;
    EXPECT_NE(output.find("ui-dir = " + build.path()), std::string::npos) << output;
    EXPECT_NE(output.find("ui-allow-cidr = 10.0.0.0/8"), std::string::npos) << output;
}

TEST(UiListener, RefusesAUiFolderWithoutIndexHtml) {
    TempDir empty;
    TempDir dir;
    ServiceProcess process(
        {"serve", "--host", "127.0.0.1", "--port", std::to_string(free_port()), "--ui-port",
         std::to_string(free_port()), "--ui-dir", empty.path().string(), "--database",
         "sqlite:" + (dir.path() / "m.db").string()},
        (dir.path() / "log").string());
    auto status = process.wait_for_exit(std::chrono::seconds(10));
    ASSERT_TRUE(status);
    EXPECT_NE(*status, 0);
    EXPECT_NE(process.log().find("has no index.html"), std::string::npos) << process.log();
}

}  // namespace
}  // namespace mf::testing::ui
