// /metrics read by the reference parser of the Prometheus text format (the Python
// prometheus_client package from Debian), and its counters checked against the requests
// this test made.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

// Parses an exposition with prometheus_client; returns its samples as JSON objects
// {"name", "labels", "value"}, or fails the test if the text does not parse.
boost::json::array parse_exposition(const std::string& text) {
    TempDir dir;
    auto input = (dir.path() / "metrics.txt").string();
    std::ofstream(input) << text;
    std::string output;
    int status = run_command(
        "/usr/bin/python3 -c 'import json, sys\n"
        "from prometheus_client.parser import text_string_to_metric_families\n"
        "samples = [dict(name=s.name, labels=s.labels, value=s.value)\n"
        "           for f in text_string_to_metric_families(open(sys.argv[1]).read())\n"
        "           for s in f.samples]\n"
        "print(json.dumps(samples))' " +
            input,
        &output);
    EXPECT_EQ(status, 0) << "the exposition does not parse:\n" << text;
    if (status != 0) return {};
    return boost::json::parse(output).as_array();
}

double sample(const boost::json::array& samples, const std::string& name,
              const std::map<std::string, std::string>& labels) {
    for (const auto& entry : samples) {
        const auto& s = entry.as_object();
        if (s.at("name").as_string() != name) continue;
        bool match = true;
        for (const auto& [key, value] : labels) {
            const auto* got = s.at("labels").as_object().if_contains(key);
            match = match && got && got->as_string() == value;
        }
        if (match) return s.at("value").to_number<double>();
    }
    return -1;
}

TEST(Metrics, CountersMatchTheRequestsMade) {
    TestServer server;
    auto client = server.client();
    ASSERT_EQ(client.post("/flows/MetricsFlow").status, 200u);
    ASSERT_EQ(client.post("/flows/MetricsFlow").status, 409u);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(client.get("/flows/MetricsFlow").status, 200u);
    ASSERT_EQ(client.get("/flows/Nope").status, 404u);
    ASSERT_EQ(client.get("/not/a/route").status, 404u);

    auto response = client.get("/metrics");
    ASSERT_EQ(response.status, 200u);
    EXPECT_NE(response.header("content-type").find("text/plain"), std::string::npos);
    auto samples = parse_exposition(response.body);
    ASSERT_FALSE(samples.empty());

    auto requests = [&](const char* method, const char* route, const char* status) {
        return sample(
            samples, "mf_http_requests_total",
            {{"listener", "api"}, {"method", method}, {"route", route}, {"status", status}});
    };
    EXPECT_EQ(requests("POST", "/flows/{flow_id}", "200"), 1);
    EXPECT_EQ(requests("POST", "/flows/{flow_id}", "409"), 1);
    EXPECT_EQ(requests("GET", "/flows/{flow_id}", "200"), 3);
    EXPECT_EQ(requests("GET", "/flows/{flow_id}", "404"), 1);
    EXPECT_EQ(requests("GET", "unmatched", "404"), 1);
    EXPECT_EQ(sample(samples, "mf_http_request_duration_seconds_count",
                     {{"method", "GET"}, {"route", "/flows/{flow_id}"}}),
              4);
    EXPECT_EQ(sample(samples, "mf_http_request_duration_seconds_bucket",
                     {{"method", "GET"}, {"route", "/flows/{flow_id}"}, {"le", "+Inf"}}),
              4);
    // The scrape itself is in flight while it renders.
    EXPECT_EQ(sample(samples, "mf_http_requests_in_flight", {}), 1);
    EXPECT_GE(sample(samples, "mf_http_connections_open", {}), 1);
    EXPECT_EQ(sample(samples, "mf_build_info", {{"compatible_version", "2.5.1"}}), 1);
}

TEST(Metrics, HeartbeatsAreCountedByKind) {
    TestServer server;
    auto client = server.client();
    client.post("/flows/H");
    client.post("/flows/H/run", R"({"system_tags": ["metaflow_version:2.0"]})");
    ASSERT_EQ(client.post("/flows/H/runs/1/heartbeat").status, 200u);
    ASSERT_EQ(client.post("/flows/H/runs/1/heartbeat").status, 404u);
    auto samples = parse_exposition(client.get("/metrics").body);
    EXPECT_EQ(sample(samples, "mf_heartbeats_total", {{"kind", "run"}}), 1);
    EXPECT_EQ(sample(samples, "mf_heartbeats_total", {{"kind", "task"}}), 0);
}

TEST(Metrics, OwnPortServesMetricsAndTheApiPortDoesNot) {
    TestServerOptions options;
    options.security.metrics_port = 1;  // the test server picks a free one
    TestServer server(options);
    EXPECT_EQ(server.client().get("/metrics").status, 404u);
    HttpClient metrics(server.metrics_port());
    auto response = metrics.get("/metrics");
    EXPECT_EQ(response.status, 200u);
    EXPECT_FALSE(parse_exposition(response.body).empty());
}

TEST(Metrics, DatabasePoolGaugesAndErrorCountsOnPostgres) {
    TestServer server;
    auto client = server.client();
    ASSERT_EQ(client.post("/flows/PoolFlow").status, 200u);
    // A duplicate is the client's failure, not the database's.
    ASSERT_EQ(client.post("/flows/PoolFlow").status, 409u);
    auto samples = parse_exposition(client.get("/metrics").body);
    if (!testing_postgres()) {
        EXPECT_EQ(sample(samples, "mf_db_pool_connections_open", {}), -1) << "SQLite has no pool";
        EXPECT_EQ(sample(samples, "mf_db_errors_total", {{"kind", "other"}}), -1);
        return;
    }
    EXPECT_GE(sample(samples, "mf_db_pool_connections_open", {}), 1);
    EXPECT_GE(sample(samples, "mf_db_pool_connections_idle", {}), 1);
    EXPECT_EQ(sample(samples, "mf_db_pool_requests_waiting", {}), 0);
    for (const char* kind : {"unavailable", "timeout", "other"})
        EXPECT_EQ(sample(samples, "mf_db_errors_total", {{"kind", kind}}), 0) << kind;
}

}  // namespace
}  // namespace mf::testing
