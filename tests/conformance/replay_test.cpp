// Replays every exchange of the reference trace (tests/fixtures/reference-trace.jsonl) in
// order against a fresh server and compares status, version header, content type and body.
//
// Normalised, because they cannot be reproduced (everything else must be equal):
// - time: the server runs on a manual clock set to the recorded request time, so the
//   heartbeat 10-second rule plays out as recorded; server timestamps (ts_epoch,
//   last_heartbeat_ts) may differ by the recorded request's processing time;
// - two heartbeats of one task that overlapped in time: which one won is a race, so the
//   pair's statuses are compared as a set;
// - metadata ids: records that concurrent requests posted got their ids in whatever order
//   the reference interleaved the inserts; ids are compared through a one-to-one mapping
//   fixed when an id is first seen, so they must still be unique and stable;
// - the order of a run's user tags after a mutation (the reference's Python set order) and
//   the order of list responses whose order the reference leaves unspecified;
// - the text inside a database-error envelope ({"err_msg": ...}), which names PostgreSQL
//   internals.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

// The recording's clock: a request's server time is this plus its t_ms (checked against
// the trace's own ts_epoch values when the trace was adopted).
constexpr std::int64_t kRecordingStartMs = 1795608197132;
constexpr std::int64_t kTimestampToleranceMs = 2000;

struct Exchange {
    std::int64_t seq = 0;
    std::int64_t t_ms = 0;
    double elapsed_ms = 0;
    std::string method;
    std::string target;
    std::string path;
    std::string request_body;
    unsigned status = 0;
    json::object response_headers;
    std::optional<json::value> response_json;
    std::optional<std::string> response_text;
};

std::vector<Exchange> load_trace() {
    std::ifstream file(MF_TEST_FIXTURES "/reference-trace.jsonl");
    EXPECT_TRUE(file) << "missing fixture reference-trace.jsonl";
    std::vector<Exchange> exchanges;
    std::string line;
    while (std::getline(file, line)) {
        auto row = json::parse(line).as_object();
        Exchange exchange;
        exchange.seq = row.at("seq").as_int64();
        exchange.t_ms = row.at("t_ms").as_int64();
        exchange.elapsed_ms = row.at("elapsed_ms").to_number<double>();
        exchange.method = json::value_to<std::string>(row.at("method"));
        exchange.path = json::value_to<std::string>(row.at("path"));
        exchange.target = exchange.path;
        char separator = '?';
        for (const auto& [key, values] : row.at("query").as_object()) {
            for (const auto& value : values.as_array()) {
                exchange.target += separator + url_encode(key) + "=" +
                                   url_encode(std::string_view(value.as_string()));
                separator = '&';
            }
        }
        if (const auto* body = row.if_contains("request_json")) {
            exchange.request_body = json::serialize(*body);
        }
        exchange.status = static_cast<unsigned>(row.at("status").as_int64());
        exchange.response_headers = row.at("response_headers").as_object();
        if (const auto* body = row.if_contains("response_json")) exchange.response_json = *body;
        if (const auto* text = row.if_contains("response_text")) {
            exchange.response_text = json::value_to<std::string>(*text);
        }
        exchanges.push_back(std::move(exchange));
    }
    return exchanges;
}

bool is_heartbeat(const Exchange& e) {
    return e.method == "POST" && e.path.size() > 10 &&
           e.path.compare(e.path.size() - 10, 10, "/heartbeat") == 0;
}

// Lists whose order the reference does not define (docs/api.md#list-order) are compared as
// multisets.
bool order_is_specified(const Exchange& e) {
    return e.path.find("/filtered_tasks") != std::string::npos ||
           (e.path.size() > 6 && e.path.compare(e.path.size() - 6, 6, "/steps") == 0);
}

// Reference metadata id -> ours, and back; see the header comment.
struct IdMapping {
    std::map<std::int64_t, std::int64_t> ours_of;
    std::map<std::int64_t, std::int64_t> reference_of;

    bool consistent(std::int64_t reference, std::int64_t ours) const {
        auto a = ours_of.find(reference);
        auto b = reference_of.find(ours);
        return (a == ours_of.end() || a->second == ours) &&
               (b == reference_of.end() || b->second == reference);
    }
};

class Comparison {
public:
    Comparison(bool ordered, const IdMapping& ids) : ordered_(ordered), ids_(ids) {}

    // The id pairs the last successful diff relied on, to be added to the mapping.
    mutable std::vector<std::pair<std::int64_t, std::int64_t>> seen_ids;

    // An empty string when equal, otherwise where they differ.
    std::string diff(const json::value& expected, const json::value& actual,
                     const std::string& where, std::string_view key = {}) const {
        if (key == "ts_epoch" || key == "last_heartbeat_ts") {
            return timestamps_match(
                       expected, actual,
                       key == "ts_epoch" ? kTimestampToleranceMs : kTimestampToleranceMs / 1000)
                       ? ""
                       : where + ": " + json::serialize(expected) +
                             " != " + json::serialize(actual);
        }
        if (key == "id" && expected.is_int64() && actual.is_int64()) {
            if (!ids_.consistent(expected.as_int64(), actual.as_int64())) {
                return where + ": metadata id " + json::serialize(actual) + " for " +
                       json::serialize(expected) + " breaks the one-to-one mapping";
            }
            seen_ids.emplace_back(expected.as_int64(), actual.as_int64());
            return "";
        }
        if (expected.is_string() && actual.is_string()) {
            auto inner_expected = error_envelope(expected.as_string());
            if (inner_expected) {
                return error_envelope(actual.as_string())
                           ? ""
                           : where + ": expected a database-error envelope, got " +
                                 json::serialize(actual);
            }
        }
        if (expected.kind() != actual.kind() && !(expected.is_number() && actual.is_number())) {
            return where + ": " + json::serialize(expected) + " != " + json::serialize(actual);
        }
        if (expected.is_object()) {
            const auto& e = expected.as_object();
            const auto& a = actual.as_object();
            for (const auto& [k, v] : e) {
                if (!a.contains(k)) return where + "." + std::string(k) + ": missing";
                auto d = diff(v, a.at(k), where + "." + std::string(k), k);
                if (!d.empty()) return d;
            }
            for (const auto& [k, v] : a) {
                if (!e.contains(k)) return where + "." + std::string(k) + ": unexpected";
            }
            return "";
        }
        if (expected.is_array()) {
            bool unordered = key == "tags" || (key.empty() && !ordered_);
            return unordered ? diff_unordered(expected.as_array(), actual.as_array(), where)
                             : diff_ordered(expected.as_array(), actual.as_array(), where);
        }
        if (expected.is_number()) {
            return expected.to_number<double>() == actual.to_number<double>()
                       ? ""
                       : where + ": " + json::serialize(expected) +
                             " != " + json::serialize(actual);
        }
        return expected == actual
                   ? ""
                   : where + ": " + json::serialize(expected) + " != " + json::serialize(actual);
    }

private:
    static bool timestamps_match(const json::value& expected, const json::value& actual,
                                 std::int64_t tolerance) {
        if (expected.is_null() || actual.is_null()) return expected.is_null() && actual.is_null();
        if (!expected.is_int64() || !actual.is_int64()) return false;
        return std::llabs(expected.as_int64() - actual.as_int64()) <= tolerance;
    }

    static std::optional<json::object> error_envelope(std::string_view text) {
        boost::system::error_code ec;
        auto value = json::parse(text, ec);
        if (ec || !value.is_object() || !value.as_object().contains("err_msg")) return std::nullopt;
        return value.as_object();
    }

    std::string diff_ordered(const json::array& expected, const json::array& actual,
                             const std::string& where) const {
        if (expected.size() != actual.size()) {
            return where + ": " + std::to_string(expected.size()) + " elements expected, got " +
                   std::to_string(actual.size());
        }
        for (std::size_t i = 0; i < expected.size(); ++i) {
            auto d = diff(expected[i], actual[i], where + "[" + std::to_string(i) + "]");
            if (!d.empty()) return d;
        }
        return "";
    }

    std::string diff_unordered(const json::array& expected, const json::array& actual,
                               const std::string& where) const {
        if (expected.size() != actual.size()) {
            return where + ": " + std::to_string(expected.size()) + " elements expected, got " +
                   std::to_string(actual.size());
        }
        std::vector<bool> used(actual.size(), false);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            bool found = false;
            for (std::size_t j = 0; j < actual.size() && !found; ++j) {
                if (used[j]) continue;
                auto mark = seen_ids.size();
                if (diff(expected[i], actual[j], where).empty()) {
                    used[j] = found = true;
                } else {
                    seen_ids.resize(mark);
                }
            }
            if (!found) {
                return where + ": no match for " + json::serialize(expected[i]);
            }
        }
        return "";
    }

    bool ordered_;
    const IdMapping& ids_;
};

std::string compare(const Exchange& expected, const HttpResponse& actual, bool any_heartbeat_status,
                    IdMapping& ids) {
    if (!any_heartbeat_status && actual.status != expected.status) {
        return "status " + std::to_string(expected.status) +
               " != " + std::to_string(actual.status) + " body " + actual.body;
    }
    bool expects_version = expected.response_headers.contains("METADATA_SERVICE_VERSION");
    if (expects_version != actual.has_header("metadata_service_version")) {
        return expects_version ? "missing METADATA_SERVICE_VERSION"
                               : "unexpected METADATA_SERVICE_VERSION";
    }
    if (expects_version && actual.header("metadata_service_version") != "2.5.1") {
        return "METADATA_SERVICE_VERSION " + actual.header("metadata_service_version");
    }
    if (const auto* type = expected.response_headers.if_contains("Content-Type")) {
        if (actual.header("content-type") != type->as_string()) {
            return "Content-Type " + actual.header("content-type");
        }
    }
    if (expected.response_text) {
        return *expected.response_text == actual.body ? "" : "body " + actual.body;
    }
    boost::system::error_code ec;
    auto body = json::parse(actual.body, ec);
    if (ec) return "body is not JSON: " + actual.body;
    Comparison comparison(order_is_specified(expected), ids);
    auto difference = comparison.diff(*expected.response_json, body, "body");
    if (difference.empty()) {
        for (auto [reference, ours] : comparison.seen_ids) {
            ids.ours_of[reference] = ours;
            ids.reference_of[ours] = reference;
        }
    }
    return difference;
}

// Heartbeats of the same path whose recorded intervals overlap: the winner was a race.
std::vector<bool> concurrent_heartbeats(const std::vector<Exchange>& trace) {
    std::vector<bool> concurrent(trace.size(), false);
    for (std::size_t i = 0; i < trace.size(); ++i) {
        if (!is_heartbeat(trace[i])) continue;
        for (std::size_t j = i + 1; j < trace.size() && j < i + 20; ++j) {
            if (trace[j].path != trace[i].path) continue;
            double end_i = trace[i].t_ms + trace[i].elapsed_ms;
            double end_j = trace[j].t_ms + trace[j].elapsed_ms;
            if (trace[j].t_ms < end_i && trace[i].t_ms < end_j &&
                trace[i].status != trace[j].status) {
                concurrent[i] = concurrent[j] = true;
            }
        }
    }
    return concurrent;
}

// Sends the whole trace with `headers` added to every request; fails the test on any
// difference.
void replay(TestServerOptions options, const http::Fields& headers) {
    auto trace = load_trace();
    ASSERT_EQ(trace.size(), 1863u);
    auto concurrent = concurrent_heartbeats(trace);

    options.manual_clock = true;
    TestServer server(options);
    auto client = server.client();
    std::vector<std::string> mismatches;
    IdMapping ids;
    std::map<std::string, std::vector<unsigned>> race_statuses[2];
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const auto& exchange = trace[i];
        server.clock().set_ms(kRecordingStartMs + exchange.t_ms);
        auto response =
            client.request(exchange.method, exchange.target, exchange.request_body, headers);
        if (concurrent[i]) {
            race_statuses[0][exchange.path].push_back(exchange.status);
            race_statuses[1][exchange.path].push_back(response.status);
        }
        auto difference = compare(exchange, response, concurrent[i], ids);
        if (!difference.empty()) {
            mismatches.push_back("seq " + std::to_string(exchange.seq) + " " + exchange.method +
                                 " " + exchange.target + ": " + difference);
        }
    }
    for (auto& [path, statuses] : race_statuses[0]) {
        auto ours = race_statuses[1][path];
        std::sort(statuses.begin(), statuses.end());
        std::sort(ours.begin(), ours.end());
        if (statuses != ours) mismatches.push_back("concurrent heartbeats of " + path + " differ");
    }

    std::ostringstream report;
    for (std::size_t i = 0; i < mismatches.size() && i < 30; ++i) report << mismatches[i] << "\n";
    EXPECT_TRUE(mismatches.empty())
        << mismatches.size() << " of " << trace.size() << " exchanges differ:\n"
        << report.str();
    std::cout << "replayed " << trace.size() << " exchanges, " << mismatches.size() << " differ\n";
}

TEST(Conformance, ReplaysEveryExchangeOfTheReferenceTrace) {
    replay({}, {});
}

// What the Metaflow client does with METAFLOW_SERVICE_AUTH_KEY set: the same requests with
// an x-api-key header, against a server that requires keys.
TEST(Conformance, ReplaysWithAnApiKeyAgainstAServerThatRequiresKeys) {
    TestServerOptions options;
    options.security.api_keys = "metaflow-client:client-key-123";
    replay(options, {{"x-api-key", "client-key-123"}});
}

}  // namespace
}  // namespace mf::testing
