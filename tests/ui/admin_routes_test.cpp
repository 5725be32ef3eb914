// The UI routes that need no UI database query, against what the reference UI backend
// answered (tests/fixtures/ui-trace-admin.jsonl): /ping, /version, /links, /notifications
// with its filters, /features, /config, /plugin, unknown routes, the /metadata mount.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "support/test_server.hpp"
#include "ui/notifications.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing::ui {
namespace {

namespace json = boost::json;

// The configuration the trace was recorded with, as far as the responses show it (the id
// the reference derived for the second entry fixes its keys and their order).
constexpr const char *kNotifications = R"([
  {"id": "fixed_id_attribute", "type": "info", "contentType": "markdown",
   "message": "Upcoming service maintenance [Metaflow](https://metaflow.org)",
                     "created" : 1618404534000, "start" : 1618404534000, "end" : 1918925483000
},
  {"type": "warning", "contentType": "text", "message": "Plaintext notification without id",
   "url": "https://metaflow.org", "urlText": "Metaflow", "created": 1700000000000},
  {"id": "expired_one", "type": "info", "message": "Expired maintenance window",
   "created": 1618404534000, "start": 1618404534000, "end": 1618925483000},
  {"id": "no-message", "created": 1618404534000},
  {"id": "never-created", "message": "no created and no start"}
])";

std::vector<json::object> trace() {
    std::ifstream in(std::string(MF_TEST_FIXTURES) + "/ui-trace-admin.jsonl");
    std::vector<json::object> exchanges;
    for (std::string line; std::getline(in, line);) {
        exchanges.push_back(json::parse(line).as_object());
    }
    return exchanges;
}

std::string media_type(std::string_view content_type) {
    return std::string(content_type.substr(0, content_type.find(';')));
}

struct TraceServer {
    TempDir plugins;
    ScopedEnv notifications{"NOTIFICATIONS", kNotifications};
    ScopedEnv search{"FEATURE_FOREACH_VAR_SEARCH", "1"};
    ScopedEnv artifacts{"FEATURE_ARTIFACT_SEARCH", "true"};
    ScopedEnv debug{"FEATURE_DEBUG_VIEW", "False"};
    std::unique_ptr<TestServer> server;

    TraceServer() {
        auto hello = plugins.path() / "hello-plugin";
        std::filesystem::create_directories(hello);
        std::ofstream(hello / "manifest.json")
            << R"({"name": "hello-plugin", "version": "1.0.0", "entrypoint": "index.html", )"
            << R"("slot": "run-header", "container": "titled-container"})";
        std::ofstream(hello / "index.html")
            << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>hello-plugin</title>"
               "<script src=\"hello.js\"></script></head>\n<body><p>Hello from a local UI "
               "plugin.</p></body></html>\n";
        std::ofstream(hello / "hello.js") << "console.log(\"hello-plugin loaded\");\n";
        std::filesystem::create_directories(plugins.path() / "not-a-plugin");
        auto options = ui_options();
        options.ui_config.plugins_dir = plugins.path().string();
        server = std::make_unique<TestServer>(options);
    }
};

// The reference's plugins carry the parameters of its PLUGINS setting; plugins found in a
// folder have none. Files are listed sorted here, in directory order there.
void align_plugin(json::value& reference, json::value& ours) {
    auto align = [](json::object& plugin) {
        plugin["parameters"] = json::object();
        auto& files = plugin["files"].as_array();
        std::vector<std::string> names;
        for (const auto& file : files) names.emplace_back(file.as_string());
        std::sort(names.begin(), names.end());
        files.clear();
        for (const auto& name : names) files.emplace_back(name);
    };
    if (reference.is_array()) {
        for (auto& item : reference.as_array()) align(item.as_object());
    } else if (reference.is_object()) {
        align(reference.as_object());
    }
    (void)ours;
}

TEST(UiAdminRoutes, AnswerAsTheReferenceDid) {
    TraceServer fixture;
    auto client = fixture.server->ui_client();
    // Routes that need the UI's database queries or the websocket are checked elsewhere.
    const std::set<std::string> elsewhere = {
        "errors:post-405",         "errors:head-405",
        "errors:options-405",      "errors:url-encoded-flow-id",
        "errors:unicode-flow-id",  "errors:sql-ish-filter",
        "ws:plain-http-no-upgrade"};
    int compared = 0;
    for (const auto& exchange : trace()) {
        const std::string label(exchange.at("label").as_string());
        if (elsewhere.count(label)) continue;
        if (label.starts_with("metadata-subapp:") && label != "metadata-subapp:ping" &&
            label != "metadata-subapp:post-405") {
            continue;  // rows of the recording; the mount itself is tested in listener_test
        }
        const std::string method(exchange.at("method").as_string());
        const std::string target(exchange.at("target").as_string());
        auto r = client.request(method, target);
        SCOPED_TRACE(label + ": " + method + " " + target + " -> " + r.body);
        ++compared;
        EXPECT_EQ(r.status, exchange.at("status").as_int64());
        const auto& headers = exchange.at("response_headers").as_object();
        std::map<std::string, std::string> expected_headers;
        for (const auto& [name, value] : headers) {
            std::string lower(name);
            for (auto& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            expected_headers[lower] = std::string(value.as_string());
        }
        EXPECT_EQ(media_type(r.header("content-type")),
                  media_type(expected_headers["content-type"]));
        EXPECT_EQ(r.has_header("access-control-allow-origin"),
                  expected_headers.count("access-control-allow-origin") > 0);
        EXPECT_EQ(r.has_header("metadata_service_version"),
                  expected_headers.count("metadata_service_version") > 0);
        if (expected_headers.count("allow"))
            EXPECT_EQ(r.header("allow"), expected_headers["allow"]);
        if (method == "HEAD") continue;
        if (const auto* body = exchange.if_contains("response_json")) {
            auto reference = *body;
            auto ours = r.json();
            if (label == "plugin:list" || label == "plugin:single") align_plugin(reference, ours);
            EXPECT_EQ(ours, reference);
        } else if (const auto* text = exchange.if_contains("response_text")) {
            EXPECT_EQ(r.body, text->as_string());
        }
    }
    EXPECT_EQ(compared, 24);
}

TEST(UiAdminRoutes, PluginAssetsKeepTheirPathsAndEtags) {
    TraceServer fixture;
    auto client = fixture.server->ui_client();
    auto js = client.get("/plugin/hello-plugin/hello.js");
    ASSERT_EQ(js.status, 200u);
    auto again = client.request("GET", "/plugin/hello-plugin/hello.js", {},
                                {{"If-None-Match", js.header("etag")}});
    EXPECT_EQ(again.status, 304u);
    EXPECT_EQ(client.get("/plugin/hello-plugin/../hello-plugin/hello.js").status, 404u);
}

TEST(UiAdminRoutes, PluginsAreAnEmptyListWithoutAFolder) {
    TestServer server(ui_options());
    auto r = server.ui_client().get("/plugin");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "[]");
}

TEST(UiAdminRoutes, LinksComeFromTheEnvironment) {
    ScopedEnv links("CUSTOM_QUICKLINKS",
                    R"([{"href": "https://wiki.example.com", "label": "Wiki"}])");
    TestServer server(ui_options());
    EXPECT_EQ(server.ui_client().get("/links").json(),
              json::parse(R"([{"href": "https://wiki.example.com", "label": "Wiki"}])"));
}

TEST(UiAdminRoutes, ConfigFilesComeFromJsonConfigRoot) {
    TempDir root;
    std::ofstream(root.path() / "config.notifications.json")
        << R"([{"id": "a", "message": "from a file", "start": 5}])";
    ScopedEnv config_root("JSON_CONFIG_ROOT", root.path().string());
    ScopedEnv tracking("GA_TRACKING_ID", "UA-1");
    TestServer server(ui_options());
    auto client = server.ui_client();
    auto notifications = client.get("/notifications").json().as_array();
    ASSERT_EQ(notifications.size(), 1u);
    EXPECT_EQ(notifications[0].at("message"), "from a file");
    EXPECT_EQ(notifications[0].at("created"), 5);  // `start` stands in for `created`
    EXPECT_EQ(client.get("/config").json(), json::parse(R"({"GA_TRACKING_ID": "UA-1"})"));
    EXPECT_EQ(client.get("/version").body, "2.5.1--");
}

TEST(UiAdminRoutes, VersionCarriesTheBuildVariables) {
    ScopedEnv timestamp("BUILD_TIMESTAMP", "20261205");
    ScopedEnv commit("BUILD_COMMIT_HASH", "abc123");
    TestServer server(ui_options());
    EXPECT_EQ(server.ui_client().get("/version").body, "2.5.1-20261205-abc123");
}

TEST(UiAdminRoutes, StatusDescribesOurOwnStore) {
    TestServer server(ui_options());
    auto status = server.ui_client().get("/status");
    ASSERT_EQ(status.status, 200u);
    auto body = status.json().as_object();
    EXPECT_TRUE(body.contains("cache"));
    EXPECT_EQ(body.at("draining"), false);
    const bool postgres = server.database_url().starts_with("postgresql:");
    EXPECT_EQ(body.at("store").as_object().contains("pool"), postgres);
}

TEST(UiNotifications, FiltersCastToTheFieldTypeAndSkipWhatTheReferenceSkips) {
    auto all = mf::ui::notifications_from(json::parse(kNotifications).as_array());
    ASSERT_EQ(all.size(), 3u);
    auto ids = [](const json::array& list) {
        std::vector<std::string> out;
        for (const auto& item : list) out.emplace_back(item.at("id").as_string());
        return out;
    };
    using Fields = http::Fields;
    EXPECT_EQ(ids(mf::ui::filter_notifications(all, Fields{{"type", "info"}})),
              (std::vector<std::string>{"fixed_id_attribute", "expired_one"}));
    EXPECT_EQ(ids(mf::ui::filter_notifications(all, Fields{{"type:ne", "info"}})),
              (std::vector<std::string>{"787ed147d25d7e774e6e992b4cca19066efc8a17"}));
    // A value that is not a number for a number field ends the filtering: all are kept.
    EXPECT_EQ(mf::ui::filter_notifications(all, Fields{{"created:gt", "soon"}}).size(), 3u);
    // Zero and empty values are ignored, as are missing fields.
    EXPECT_EQ(mf::ui::filter_notifications(all, Fields{{"created:gt", "0"}}).size(), 3u);
    EXPECT_EQ(mf::ui::filter_notifications(all, Fields{{"type", ""}}).size(), 3u);
    EXPECT_EQ(mf::ui::filter_notifications(all, Fields{{"nosuch", "x"}}).size(), 3u);
    EXPECT_EQ(
        ids(mf::ui::filter_notifications(all, Fields{{"end:lt", "1700000000000"}})),
        (std::vector<std::string>{"787ed147d25d7e774e6e992b4cca19066efc8a17", "expired_one"}));
}

TEST(UiNotifications, PythonReprMatchesPython) {
    EXPECT_EQ(
        mf::ui::python_repr(json::parse(
            R"({"a": [1, 2.5, true, null], "b": "it's", "c": "q\"'", "d": 1e16, "e": 0.0001})")),
        R"({'a': [1, 2.5, True, None], 'b': "it's", 'c': 'q"\'', 'd': 1e+16, 'e': 0.0001})");
    EXPECT_EQ(mf::ui::python_repr(json::parse("[100.0, 1e-05, -3.25, 123456789012345.6]")),
              "[100.0, 1e-05, -3.25, 123456789012345.6]");
}

}  // namespace
}  // namespace mf::testing::ui
