// The static UI on the UI listener: index.html with its injections, the single-page
// fallback, gzip, ETags and caching headers.
#include <gtest/gtest.h>

#include "support/test_server.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing::ui {
namespace {

TEST(StaticUi, IndexHtmlGetsTheServiceBaseBeforeHeadEnd) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    auto r = client.get("/");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("<script>window.METAFLOW_SERVICE=\"/\";</script></head>"),
              std::string::npos)
        << r.body;
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    EXPECT_FALSE(r.has_header("access-control-allow-origin"));
}

TEST(StaticUi, PathsThatAreNoRouteAnswerIndexHtml) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    const auto index = client.get("/").body;
    for (const char* path : {"/AccLinear_ui/1/view/timeline", "/runs/whatever/x", "/index.html",
                             "/AccLinear_ui/1/start/2?direction=asc"}) {
        auto r = client.get(path);
        EXPECT_EQ(r.status, 200u) << path;
        EXPECT_EQ(r.body, index) << path;
    }
}

TEST(StaticUi, ApiRoutesThatFindNothingAnswerJsonNotIndexHtml) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    auto r = client.get("/metadata/flows/NoSuchFlow");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body.find("<html"), std::string::npos) << r.body;
    auto plugin = client.get("/plugin/no-such-plugin");
    EXPECT_EQ(plugin.status, 404u);
    EXPECT_EQ(plugin.body, "\"Plugin not found\"");
}

TEST(StaticUi, MissingStaticFilesAre404NotIndexHtml) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto r = server.ui_client().get("/static/js/main.000000.js");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, "404: Not Found");
}

TEST(StaticUi, StaticFilesAreGzippedWhenAcceptedAndCachedLong) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    auto packed = client.request("GET", "/static/js/main.1a2b3c.js", {},
                                 {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(packed.status, 200u);
    EXPECT_EQ(packed.header("content-encoding"), "gzip");
    EXPECT_EQ(packed.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(packed.header("vary"), "Accept-Encoding");
    EXPECT_EQ(packed.header("cache-control"), "public, max-age=31536000, immutable");
    EXPECT_LT(packed.body.size(), build.script.size());
    EXPECT_EQ(gunzip(packed.body), build.script);

    auto plain = client.get("/static/js/main.1a2b3c.js");
    EXPECT_FALSE(plain.has_header("content-encoding"));
    EXPECT_EQ(plain.body, build.script);
    EXPECT_NE(plain.header("etag"), packed.header("etag"));

    auto refused = client.request("GET", "/static/js/main.1a2b3c.js", {},
                                  {{"Accept-Encoding", "gzip;q=0, identity"}});
    EXPECT_FALSE(refused.has_header("content-encoding"));
    EXPECT_EQ(refused.body, build.script);
}

TEST(StaticUi, IfNoneMatchWithTheEtagAnswers304WithoutBody) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    for (const char* path : {"/static/js/main.1a2b3c.js", "/", "/manifest.json"}) {
        auto first = client.get(path);
        auto etag = first.header("etag");
        ASSERT_FALSE(etag.empty()) << path;
        auto again = client.request("GET", path, {}, {{"If-None-Match", etag}});
        EXPECT_EQ(again.status, 304u) << path;
        EXPECT_TRUE(again.body.empty()) << path;
        EXPECT_EQ(again.header("etag"), etag);
        auto weak = client.request("GET", path, {}, {{"If-None-Match", "\"other\", W/" + etag}});
        EXPECT_EQ(weak.status, 304u) << path;
        auto changed = client.request("GET", path, {}, {{"If-None-Match", "\"other\""}});
        EXPECT_EQ(changed.status, 200u) << path;
    }
}

TEST(StaticUi, RootFilesKeepTheirContentTypes) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    auto manifest = client.get("/manifest.json");
    EXPECT_EQ(manifest.header("content-type"), "application/json");
    EXPECT_EQ(manifest.body, R"({"short_name": "Metaflow"})");
    auto icon = client.get("/favicon.ico");
    EXPECT_EQ(icon.header("content-type"), "image/x-icon");
    EXPECT_EQ(icon.body, std::string("\0\0\1\0", 4));
}

TEST(StaticUi, ServiceBaseHeadAndBodySnippetsComeFromTheEnvironment) {
    FakeBuild build;
    ScopedEnv service("METAFLOW_SERVICE", "https://mf.example.com/api");
    ScopedEnv head("METAFLOW_HEAD", "<meta name=\"x\" content=\"1\">");
    ScopedEnv before("METAFLOW_BODY_BEFORE", "<div id=\"banner\"></div>");
    ScopedEnv after("METAFLOW_BODY_AFTER", "<script src=\"/extra.js\"></script>");
    TestServer server(ui_options(&build));
    auto body = server.ui_client().get("/").body;
    EXPECT_NE(body.find("<script>window.METAFLOW_SERVICE=\"https://mf.example.com/api\";</script>"
                        "<meta name=\"x\" content=\"1\"></head>"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("<body><div id=\"banner\"></div><div id=\"root\">"), std::string::npos)
        << body;
    EXPECT_NE(body.find("<script src=\"/extra.js\"></script></body>"), std::string::npos) << body;
}

TEST(StaticUi, TheServiceBaseStaysInsideItsScriptString) {
    FakeBuild build;
    ScopedEnv service("METAFLOW_SERVICE", "/a\"b\\c</script><i>\n\x01");
    TestServer server(ui_options(&build));
    auto body = server.ui_client().get("/").body;
    EXPECT_NE(
        body.find(
            R"(<script>window.METAFLOW_SERVICE="/a\"b\\c\u003c/script>\u003ci>\n\u0001";</script>)"),
        std::string::npos)
        << body;
}

TEST(StaticUi, PathPrefixMountsEverythingAndIsTheDefaultServiceBase) {
    FakeBuild build;
    auto options = ui_options(&build);
    options.path_prefix = "/api";
    TestServer server(options);
    auto client = server.ui_client();
    auto index = client.get("/api/");
    ASSERT_EQ(index.status, 200u);
    EXPECT_NE(index.body.find("window.METAFLOW_SERVICE=\"/api\";"), std::string::npos);
    EXPECT_EQ(client.get("/api/static/js/main.1a2b3c.js").body, build.script);
    EXPECT_EQ(client.get("/api/ping").body, "pong");
    EXPECT_EQ(client.get("/ping").status, 404u);
}

TEST(StaticUi, WithoutABuildTheRootSaysHowToConfigureOne) {
    TestServer server(ui_options());
    auto client = server.ui_client();
    auto r = client.get("/");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("--ui-dir"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("MF_UI_STATIC_DIR"), std::string::npos) << r.body;
    auto other = client.get("/nope");
    EXPECT_EQ(other.status, 404u);
    EXPECT_EQ(other.body, "404: Not Found");
}

TEST(StaticUi, OtherMethodsAre405) {
    FakeBuild build;
    TestServer server(ui_options(&build));
    auto client = server.ui_client();
    for (const char* method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS"}) {
        auto r = client.request(method, "/some/page");
        EXPECT_EQ(r.status, 405u) << method;
        EXPECT_EQ(r.header("allow"), "GET") << method;
    }
}

}  // namespace
}  // namespace mf::testing::ui
