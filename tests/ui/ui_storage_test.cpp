// The UI routes that read the flows' datastore, through the real server: the reference UI
// backend's recorded exchanges for DAGs, parameters, logs, log downloads and cards
// (tests/fixtures/ui) replayed over the datastore real flows wrote for them
// (tests/fixtures/ui-datastore), on local disk and in S3 (with the recorded searches, over
// S3); the errors when the datastore is missing or out of reach; and which unknown paths get
// the UI's page.
//
// Compared as they are unless the case says otherwise: status, content type, and the body
// (JSON field by field, links included; text byte for byte). Where we differ on purpose:
// - 500 bodies carry no traceback (null) and, but for a bad log `_limit`, our own detail;
// - card HTML is compared with the fixture's card file, which is cut short (the recorded
//   card is 1.1 MB).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "datastore/s3_test_server.hpp"
#include "support/process.hpp"
#include "ui/json_difference.hpp"
#include "ui/search_replay.hpp"
#include "ui/ui_test_server.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;
using ui::kDatastoreParent;
using ui::read_text;
using ui::ScopedEnv;

bool storage_exchange(const std::string& label) {
    static const std::set<std::string> kFamilies = {"dag",       "run-parameters", "logs-out",
                                                    "logs-err",  "logs-download",  "cards",
                                                    "card-html", "card-data"};
    if (kFamilies.contains(label.substr(0, label.find(':')))) return true;
    return label == "quirk:logs-before-artifacts-1-log" || label.starts_with("quirk:log-repeat");
}

std::vector<json::object> storage_exchanges() {
    std::vector<json::object> exchanges;
    std::istringstream lines(read_text(MF_TEST_FIXTURES "/ui/ui-trace.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
        auto exchange = json::parse(line).as_object();
        if (storage_exchange(std::string(exchange.at("label").as_string())))
            exchanges.push_back(std::move(exchange));
    }
    return exchanges;
}

std::string text_of(const json::object& exchange, const char* key) {
    const auto* value = exchange.if_contains(key);
    return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The card file of the recorded card HTML request, in the fixture.
std::string card_file(const std::string& target) {
    const std::string hash = target.substr(target.rfind('/') + 1);
    const auto folder = kDatastoreParent / ".metaflow" / "mf.cards" / "UiCardFlow_ui" / "runs" /
                        "15" / "steps" / "start" / "tasks" / "96" / "cards";
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        if (entry.path().filename().string().find(hash) != std::string::npos)
            return read_text(entry.path());
    }
    ADD_FAILURE() << "no card file for " << hash;
    return {};
}

void compare(const json::object& exchange, const HttpResponse& response) {
    const std::string label(exchange.at("label").as_string());
    const std::string target(exchange.at("target").as_string());
    SCOPED_TRACE(label + " " + target);
    const auto status = static_cast<unsigned>(exchange.at("status").as_int64());
    ASSERT_EQ(response.status, status) << response.body;
    const auto& headers = exchange.at("response_headers").as_object();
    const std::string content_type = text_of(headers, "Content-Type");
    EXPECT_EQ(response.header("content-type").substr(0, content_type.size()), content_type);
    if (label.starts_with("card-html") && status == 200) {
        EXPECT_EQ(response.body, card_file(target));
        return;
    }
    if (label.starts_with("logs-download") && status == 200) {
        EXPECT_EQ(response.header("content-disposition"), text_of(headers, "Content-Disposition"));
        EXPECT_EQ(response.body, text_of(exchange, "response_text"));
        return;
    }
    const auto* expected_json = exchange.if_contains("response_json");
    if (!expected_json) {
        EXPECT_EQ(response.body, text_of(exchange, "response_text"));
        return;
    }
    json::value expected = *expected_json;
    json::value actual = response.json();
    if (status == 500) {
        EXPECT_TRUE(actual.as_object().at("traceback").is_null());
        expected.as_object().erase("traceback");
        actual.as_object().erase("traceback");
        if (label != "logs-out:bad-limit") {
            expected.as_object().erase("detail");
            actual.as_object().erase("detail");
        }
    }
    EXPECT_EQ(difference(expected, actual, ""), "");
}

// Sends every recorded storage exchange to `server` and compares; returns how many.
int replay(UiTestServer& server) {
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    int compared = 0;
    for (const auto& exchange : storage_exchanges()) {
        http::Fields headers;
        for (const auto& [name, value] : exchange.at("request_headers").as_object()) {
            if (name == "host" || name.starts_with("x-forwarded"))
                headers.emplace_back(std::string(name), json::value_to<std::string>(value));
        }
        compare(exchange, client.request("GET", json::value_to<std::string>(exchange.at("target")),
                                         {}, headers));
        ++compared;
    }
    return compared;
}

constexpr int kStorageExchanges = 101;

TEST(UiStorage, LocalDatastoreRoutesAnswerAsTheReference) {
    ScopedEnv root("METAFLOW_DATASTORE_SYSROOT_LOCAL", kDatastoreParent.string());
    UiTestServer server;
    EXPECT_EQ(replay(server), kStorageExchanges);
}

// The S3 server is slow to start: its test also opens the recorded searches.
TEST(UiStorage, S3DatastoreRoutesAndSearchesAnswerAsTheReference) {
    datastore::testing::S3Server s3;
    ScopedEnv root(
        "METAFLOW_DATASTORE_SYSROOT_S3",
        std::string("s3://") + datastore::testing::kS3Bucket + "/" + datastore::testing::kS3Prefix);
    ScopedEnv endpoint("METAFLOW_S3_ENDPOINT_URL", s3.endpoint());
    ScopedEnv key("AWS_ACCESS_KEY_ID", datastore::testing::kS3KeyId);
    ScopedEnv secret("AWS_SECRET_ACCESS_KEY", datastore::testing::kS3Secret);
    ScopedEnv no_imds("AWS_EC2_METADATA_DISABLED", "true");
    UiTestServer server;
    EXPECT_EQ(replay(server), kStorageExchanges);
    EXPECT_EQ(replay_recorded_searches(server.ui_port()), kRecordedSearches);
}

const char* const kRun = "/flows/AccParams_ui/runs/8";
const char* const kTask = "/flows/AccRetry_ui/runs/5/steps/flaky/tasks/49";

// The reference's 500 body with `id`.
void expect_internal_error(const HttpResponse& response, const std::string& id) {
    ASSERT_EQ(response.status, 500u) << response.body;
    EXPECT_EQ(response.header("content-type"), "application/json");
    auto body = response.json().as_object();
    EXPECT_EQ(body.at("id"), id.c_str()) << response.body;
    EXPECT_TRUE(body.at("traceback").is_null());
    EXPECT_TRUE(body.at("detail").is_string());
    EXPECT_EQ(body.at("status"), 500);
    EXPECT_EQ(body.at("title"), "Internal Server Error");
    EXPECT_EQ(body.at("type"), "about:blank");
}

TEST(UiStorage, WithoutADatastoreTheRoutesSayWhyAsTheReferenceFails) {
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    expect_internal_error(client.get(std::string(kRun) + "/dag"), "failed-to-process-dag");
    expect_internal_error(client.get(std::string(kRun) + "/parameters"),
                          "failed-to-get-parameters");
    expect_internal_error(client.get(std::string(kTask) + "/logs/err?attempt_id=0"), "log-error");
    expect_internal_error(client.get(std::string(kTask) + "/logs/out/download"), "log-error");
    expect_internal_error(client.get(std::string(kTask) + "/cards"), "generic-error");
    auto detail = client.get(std::string(kRun) + "/dag").json().at("detail").as_string();
    EXPECT_NE(detail.find("METAFLOW_DATASTORE_SYSROOT_LOCAL"), std::string::npos) << detail;

    auto artifacts = client.get(std::string(kTask) + "/artifacts?postprocess=true&_limit=3");
    ASSERT_EQ(artifacts.status, 200u) << artifacts.body;
    const auto body = artifacts.json();
    const auto& rows = body.at("data").as_array();
    ASSERT_EQ(rows.size(), 3u);
    for (const auto& row : rows) {
        EXPECT_FALSE(row.as_object().contains("content"));
        EXPECT_EQ(row.at("postprocess_error").at("id"), "generic-error");
    }
    // What the database alone answers is unchanged.
    EXPECT_EQ(client.get(std::string(kRun) + "/dag").status, 500u);
    EXPECT_EQ(client.get("/flows/AccParams_ui/runs/9999/dag").status, 404u);
    EXPECT_EQ(client
                  .get(std::string(kTask).replace(std::string(kTask).size() - 2, 2, "99999") +
                       "/logs/out")
                  .status,
              404u);
}

TEST(UiStorage, AnUnreachableS3EndpointAnswersTheReferenceErrors) {
    ScopedEnv root("METAFLOW_DATASTORE_SYSROOT_S3", "s3://mf-unreachable/metaflow");
    ScopedEnv endpoint("METAFLOW_S3_ENDPOINT_URL",
                       "http://127.0.0.1:" + std::to_string(mf::testing::free_port()));
    ScopedEnv key("AWS_ACCESS_KEY_ID", "AKIDUNREACHABLE");
    ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "unreachable");
    ScopedEnv no_imds("AWS_EC2_METADATA_DISABLED", "true");
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    expect_internal_error(client.get(std::string(kRun) + "/dag"), "MetaflowS3Exception");
    expect_internal_error(client.get(std::string(kRun) + "/parameters"),
                          "failed-to-get-parameters");
    expect_internal_error(client.get(std::string(kTask) + "/logs/err?attempt_id=0"), "log-error");
    // A value search lists the artifacts it could not read, with the reason; the datastore is
    // asked once.
    const auto found =
        open_search(server.ui_port(), "/search/flows/AccParams_ui/runs/8?key=alpha&value=7");
    EXPECT_EQ(found.close_code, 1000);
    const auto matches = matches_by_task(found.last_result());
    EXPECT_EQ(matches.size(), 3u);
    for (const auto& [task, match] : matches) {
        EXPECT_EQ(match.at("searchable"), false) << task;
        EXPECT_EQ(match.at("error").at("id"), "MetaflowS3Exception") << json::serialize(match);
    }
}

// A loopback endpoint that accepts connections and never answers; counts them.
class SilentEndpoint {
public:
    SilentEndpoint() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~SilentEndpoint() {
        io_.stop();
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }
    int connections() const { return connections_; }

private:
    void accept() {
        acceptor_.async_accept(
            [this](boost::system::error_code error, boost::asio::ip::tcp::socket socket) {
                if (error) return;
                ++connections_;
                held_.push_back(std::move(socket));
                accept();
            });
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<boost::asio::ip::tcp::socket> held_;
    std::atomic<int> connections_{0};
    std::thread thread_;
};

// The environment of a service whose S3 datastore is a silent endpoint: each try waits 1 s.
struct SilentDatastore {
    SilentEndpoint endpoint;
    ScopedEnv root{"METAFLOW_DATASTORE_SYSROOT_S3", "s3://mf-unreachable/metaflow"};
    ScopedEnv endpoint_url{"METAFLOW_S3_ENDPOINT_URL", endpoint.url()};
    ScopedEnv key{"AWS_ACCESS_KEY_ID", "AKIDUNREACHABLE"};
    ScopedEnv secret{"AWS_SECRET_ACCESS_KEY", "unreachable"};
    ScopedEnv no_imds{"AWS_EC2_METADATA_DISABLED", "true"};
    ScopedEnv timeout{"MF_UI_S3_TIMEOUT", "1"};
    ScopedEnv no_prefetch{"PREFETCH_RUNS_LIMIT", "0"};
};

// Every row of a `postprocess=true` list at `target` carries the same out-of-reach error.
void expect_rows_out_of_reach(HttpClient& client, const std::string& target, std::size_t at_least) {
    SCOPED_TRACE(target);
    auto list = client.get(target);
    ASSERT_EQ(list.status, 200u) << list.body;
    const auto body = list.json();
    const auto& rows = body.at("data").as_array();
    ASSERT_GE(rows.size(), at_least) << list.body;
    const auto first_error = rows.front().at("postprocess_error");
    EXPECT_EQ(first_error.at("id"), "MetaflowS3Exception") << list.body;
    for (const auto& row : rows) {
        EXPECT_FALSE(row.as_object().contains("content"));
        EXPECT_EQ(row.at("postprocess_error"), first_error);
    }
}

// An endpoint that never answers costs each try its whole timeout: a list that asked it for
// every row would take its rows times the retries.
TEST(UiStorage, APostprocessListStopsAskingADatastoreOutOfReach) {
    SilentDatastore silent;
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    // Each list reached the endpoint with one object's tries (4), not each row's.
    expect_rows_out_of_reach(client, std::string(kTask) + "/artifacts?postprocess=true", 4);
    EXPECT_EQ(silent.endpoint.connections(), 4);
    expect_rows_out_of_reach(client, "/flows/AccForeach_ui/runs/3/tasks?postprocess=true", 4);
    EXPECT_EQ(silent.endpoint.connections(), 8);
}

TEST(UiStorage, AnObjectMissingFromTheDatastoreIsTheErrorOfItsRowOnly) {
    TempDir copy;
    std::filesystem::copy(kDatastoreParent, copy.path(), std::filesystem::copy_options::recursive);
    ScopedEnv root("METAFLOW_DATASTORE_SYSROOT_LOCAL", copy.path().string());
    ScopedEnv no_prefetch("PREFETCH_RUNS_LIMIT", "0");
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    const std::string target = std::string(kTask) + "/artifacts?postprocess=true&_limit=3";
    const auto listed = client.get(target).json();
    const auto& first = listed.at("data").at(0);
    const std::string sha(first.at("sha").as_string());
    ASSERT_GT(std::filesystem::remove_all(copy.path() / ".metaflow" / "AccRetry_ui" / "data" /
                                          sha.substr(0, 2) / sha),
              0u);

    UiTestServer fresh;  // nothing cached
    fresh.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto fresh_client = fresh.client();
    const auto answer = fresh_client.get(target);
    ASSERT_EQ(answer.status, 200u) << answer.body;
    const auto body = answer.json();
    const auto& rows = body.at("data").as_array();
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].at("postprocess_error").at("id"), "MetaflowNotFound") << answer.body;
    for (std::size_t i = 1; i < rows.size(); ++i)
        EXPECT_EQ(rows[i].at("content"), listed.at("data").at(i).at("content")) << answer.body;
}

// A value search over an endpoint that never answers runs for its tries' timeouts; with
// MF_UI_MAX_SEARCHES=1 another search meanwhile gets 503, and one after it runs.
TEST(UiStorage, SearchesBeyondTheLimitAreRefusedWhileOthersRun) {
    SilentDatastore silent;
    ScopedEnv one_search("MF_UI_MAX_SEARCHES", "1");
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    const std::string run = "/search/flows/AccParams_ui/runs/8";
    int first_close_code = 0;
    std::thread first([&] {
        first_close_code = open_search(server.ui_port(), run + "?key=alpha&value=7").close_code;
    });
    for (int tries = 0; tries < 200 && silent.endpoint.connections() == 0; ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_GE(silent.endpoint.connections(), 1) << "the first search never reached the datastore";
    auto client = server.client();
    const auto refused = client.request("GET", run + "?key=alpha", {},
                                        {{"upgrade", "websocket"}, {"connection", "Upgrade"}});
    EXPECT_EQ(refused.status, 503u) << refused.body;
    EXPECT_EQ(refused.header("retry-after"), "1");
    EXPECT_NE(refused.body.find("MF_UI_MAX_SEARCHES"), std::string::npos) << refused.body;
    first.join();
    EXPECT_EQ(first_close_code, 1000);
    // The slot is given back once the first search's connection is gone, which the server
    // may finish after the client has seen the close.
    int after_close_code = 0;
    for (int tries = 0; tries < 100 && after_close_code == 0; ++tries) {
        try {
            after_close_code = open_search(server.ui_port(), run + "?key=alpha").close_code;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    EXPECT_EQ(after_close_code, 1000);
}

// The value of a counter without labels on /metrics.
double counter(HttpClient& api, const std::string& name) {
    const std::string text = api.get("/metrics").body;
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
}

// Serves a copy of the datastore with a prefetch pass each second and `setting` in the
// environment, loads the rows, waits for a pass that started after them to end, then removes
// run 8's `_parameters` task from the copy, so that only the caches can answer its DAG and
// parameters, and hands the UI's client to `check`.
void after_prefetch(std::pair<const char*, const char*> setting,
                    const std::function<void(HttpClient&)>& check) {
    TempDir copy;
    std::filesystem::copy(kDatastoreParent, copy.path(), std::filesystem::copy_options::recursive);
    ScopedEnv root("METAFLOW_DATASTORE_SYSROOT_LOCAL", copy.path().string());
    ScopedEnv interval("MF_UI_PREFETCH_INTERVAL", "1");
    ScopedEnv extra(setting.first, setting.second);
    UiTestServer server;
    // An hour after the recorded runs.
    server.clock().set_ms(1'796'456'564'413 + 3'600'000);
    auto api = server.api_client();
    ASSERT_GE(counter(api, "mf_ui_prefetch_passes_total"), 0) << "no prefetch counter on /metrics";
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    // Passes run while the rows load, and a slow load spans several: only the second pass to
    // end from here on surely started after the last row.
    const double before = counter(api, "mf_ui_prefetch_passes_total");
    for (int tries = 0; tries < 200 && counter(api, "mf_ui_prefetch_passes_total") < before + 2;
         ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_GE(counter(api, "mf_ui_prefetch_passes_total"), before + 2);
    std::filesystem::remove_all(copy.path() / ".metaflow" / "AccParams_ui" / "8" / "_parameters");
    auto client = server.client();
    check(client);
}

TEST(UiStorage, RecentRunsDagAndParametersArePrefetchedAndServedWithoutTheDatastore) {
    // All runs are within the default two days, and fewer than 50.
    after_prefetch({"PREFETCH_RUNS_LIMIT", "50"}, [](HttpClient& client) {
        auto dag = client.get(std::string(kRun) + "/dag");
        ASSERT_EQ(dag.status, 200u) << dag.body;
        EXPECT_EQ(dag.json().at("data").at("graph_structure"), json::parse(R"(["start", "end"])"));
        auto parameters = client.get(std::string(kRun) + "/parameters");
        ASSERT_EQ(parameters.status, 200u) << parameters.body;
        EXPECT_EQ(parameters.json().at("data"),
                  json::parse(R"({"alpha": {"value": 7}, "greeting": {"value": "hello-param"},
                                  "ratio": {"value": 0.5}})"));
        // Read again, the datastore has nothing.
        EXPECT_EQ(client.get(std::string(kRun) + "/dag?invalidate=true").status, 500u);
    });
}

TEST(UiStorage, RunsBeyondThePrefetchWindowOrLimitAreNotPrefetched) {
    // Every run is over 45 minutes old; nine runs are newer than run 8.
    for (auto setting :
         {std::pair{"PREFETCH_RUNS_SINCE", "60"}, std::pair{"PREFETCH_RUNS_LIMIT", "9"}}) {
        SCOPED_TRACE(setting.first);
        after_prefetch(setting, [](HttpClient& client) {
            EXPECT_EQ(client.get(std::string(kRun) + "/dag").status, 500u);
        });
    }
}

TEST(UiStorage, ARunWithoutGraphInfoAnswersTheReferencesDagParsingError) {
    TempDir copy;
    std::filesystem::copy(kDatastoreParent, copy.path(), std::filesystem::copy_options::recursive);
    // The run as a Metaflow client older than `_graph_info` wrote it.
    const auto data =
        copy.path() / ".metaflow" / "AccParams_ui" / "8" / "_parameters" / "58" / "0.data.json";
    auto written = json::parse(read_text(data)).as_object();
    ASSERT_EQ(written.at("objects").as_object().erase("_graph_info"), 1u);
    std::ofstream(data, std::ios::trunc) << json::serialize(written);
    ScopedEnv root("METAFLOW_DATASTORE_SYSROOT_LOCAL", copy.path().string());
    UiTestServer server;
    server.load_inserts(read_text(MF_TEST_FIXTURES "/ui/ui-trace-db.sql"));
    auto client = server.client();
    auto dag = client.get(std::string(kRun) + "/dag");
    expect_internal_error(dag, "DAGParsingFailed");
    EXPECT_TRUE(dag.json().at("detail").as_string().starts_with("DAG Parsing failed: "))
        << dag.body;
    // The rest of the run reads as before.
    EXPECT_EQ(client.get(std::string(kRun) + "/parameters").status, 200u);
}

TEST(UiStorage, UnknownApiPathsAre404AndUiPagesGetIndexHtml) {
    ui::FakeBuild build;
    TestServerOptions options = ui::ui_options(&build);
    TestServer server(options);
    auto client = server.ui_client();
    const std::string index = client.get("/").body;
    ASSERT_NE(index.find("<html"), std::string::npos);
    for (const char* page : {"/AccLinear_ui/1/view/timeline", "/AccLinear_ui/1/start/2",
                             "/AccLinear_ui/1", "/AccLinear_ui"}) {
        auto r = client.get(page);
        EXPECT_EQ(r.status, 200u) << page;
        EXPECT_EQ(r.body, index) << page;
    }
    for (const char* api :
         {"/flows/AccLinear_ui/runs/1/nope", "/flows/AccLinear_ui/runs/1/steps/start/tasks/2/nope",
          "/flows/AccLinear_ui/runs/1/steps/start/tasks/2/logs/nope", "/flows/", "/metadata",
          "/search/flows/AccLinear_ui", "/search/flows/AccLinear_ui/runs/1/steps"}) {
        auto r = client.get(api);
        EXPECT_EQ(r.status, 404u) << api;
        EXPECT_EQ(r.body, "404: Not Found") << api;
    }
    // The storage routes are API routes: JSON, whether or not they find anything.
    for (const char* route :
         {"/flows/AccLinear_ui/runs/1/dag", "/flows/AccLinear_ui/runs/1/parameters",
          "/flows/AccLinear_ui/runs/1/steps/start/tasks/2/logs/out",
          "/flows/AccLinear_ui/runs/1/steps/start/tasks/2/logs/err/download",
          "/flows/AccLinear_ui/runs/1/steps/start/tasks/2/cards"}) {
        auto r = client.get(route);
        EXPECT_EQ(r.header("content-type"), "application/json") << route;
        EXPECT_EQ(r.body.find("<html"), std::string::npos) << route;
    }
}

}  // namespace
}  // namespace mf::testing
