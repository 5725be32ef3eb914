#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace mf::http {

// Counters and histograms of the HTTP layer, rendered in the Prometheus text format.
class Metrics {
public:
    explicit Metrics(std::string version);

    void connection_opened() { ++connections_open_; }
    void connection_closed() { --connections_open_; }
    void request_started() { ++requests_in_flight_; }
    // `route` is the matched template (or "unmatched"), so label values stay few.
    void request_finished(const std::string& listener, const std::string& method,
                          const std::string& route, unsigned status, double seconds);

    // Extra lines in the exposition format, e.g. the store's pool gauges.
    void add_collector(std::function<std::string()> collector);

    std::string render() const;

private:
    static constexpr std::array<double, 13> kBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    struct Latency {
        std::array<std::uint64_t, kBuckets.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    using RouteKey = std::tuple<std::string, std::string, std::string>;  // listener, method, route

    std::string version_;
    std::atomic<std::int64_t> connections_open_{0};
    std::atomic<std::int64_t> requests_in_flight_{0};
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, std::string, unsigned>, std::uint64_t> requests_;
    std::map<RouteKey, Latency> latency_;
    std::uint64_t heartbeats_run_ = 0;
    std::uint64_t heartbeats_task_ = 0;
    std::vector<std::function<std::string()>> collectors_;
};

// One metric family in the exposition format, for collectors: each sample is its labels
// (e.g. `kind="timeout"`, or empty) and its value.
std::string metric_family(std::string_view name, std::string_view type, std::string_view help,
                          const std::vector<std::pair<std::string, double>>& samples);

// GET /metrics: the exposition of `metrics`.
Handler metrics_handler(std::shared_ptr<Metrics> metrics);

}  // namespace mf::http
