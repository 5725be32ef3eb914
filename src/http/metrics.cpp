#include "http/metrics.hpp"

#include <fmt/format.h>

namespace mf::http {
namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Label values are route templates and methods, but escape them as the format requires.
std::string label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

Metrics::Metrics(std::string version) : version_(std::move(version)) {}

void Metrics::request_finished(const std::string& listener, const std::string& method,
                               const std::string& route, unsigned status, double seconds) {
    --requests_in_flight_;
    std::lock_guard lock(mutex_);
    ++requests_[{listener, method, route, status}];
    auto& latency = latency_[{listener, method, route}];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) ++latency.buckets[i];
    }
    ++latency.count;
    latency.sum += seconds;
    if (method == "POST" && ends_with(route, "/heartbeat") && status == 200) {
        ++(ends_with(route, "/tasks/{task_id}/heartbeat") ? heartbeats_task_ : heartbeats_run_);
    }
}

void Metrics::add_collector(std::function<std::string()> collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
    std::string out;
    out += "# HELP mf_build_info Build of the metadata service.\n# TYPE mf_build_info gauge\n";
    out += fmt::format("mf_build_info{{version=\"{}\",compatible_version=\"2.5.1\"}} 1\n",
                       label(version_));
    out += "# HELP mf_http_connections_open Open client connections.\n";
    out += "# TYPE mf_http_connections_open gauge\n";
    out += fmt::format("mf_http_connections_open {}\n", connections_open_.load());
    out += "# HELP mf_http_requests_in_flight Requests being handled.\n";
    out += "# TYPE mf_http_requests_in_flight gauge\n";
    out += fmt::format("mf_http_requests_in_flight {}\n", requests_in_flight_.load());

    std::vector<std::function<std::string()>> collectors;
    {
        std::lock_guard lock(mutex_);
        out += "# HELP mf_http_requests_total Requests answered, by route template and status.\n";
        out += "# TYPE mf_http_requests_total counter\n";
        for (const auto& [key, count] : requests_) {
            const auto& [listener, method, route, status] = key;
            out += fmt::format(
                "mf_http_requests_total{{listener=\"{}\",method=\"{}\",route=\"{}\",status=\"{}\"}}"
                " {}\n",
                label(listener), label(method), label(route), status, count);
        }
        out += "# HELP mf_http_request_duration_seconds Time from request read to reply written.\n";
        out += "# TYPE mf_http_request_duration_seconds histogram\n";
        for (const auto& [key, latency] : latency_) {
            const auto& [listener, method, route] = key;
            auto labels = fmt::format("listener=\"{}\",method=\"{}\",route=\"{}\"", label(listener),
                                      label(method), label(route));
            for (std::size_t i = 0; i < kBuckets.size(); ++i) {
                out += fmt::format("mf_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                                   labels, kBuckets[i], latency.buckets[i]);
            }
            out += fmt::format("mf_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                               labels, latency.count);
            out +=
                fmt::format("mf_http_request_duration_seconds_sum{{{}}} {}\n", labels, latency.sum);
            out += fmt::format("mf_http_request_duration_seconds_count{{{}}} {}\n", labels,
                               latency.count);
        }
        out += "# HELP mf_heartbeats_total Heartbeats recorded (200), by kind.\n";
        out += "# TYPE mf_heartbeats_total counter\n";
        out += fmt::format("mf_heartbeats_total{{kind=\"run\"}} {}\n", heartbeats_run_);
        out += fmt::format("mf_heartbeats_total{{kind=\"task\"}} {}\n", heartbeats_task_);
        collectors = collectors_;
    }
    for (const auto& collect : collectors) out += collect();
    return out;
}

std::string metric_family(std::string_view name, std::string_view type, std::string_view help,
                          const std::vector<std::pair<std::string, double>>& samples) {
    std::string out = fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [labels, value] : samples) {
        if (labels.empty()) {
            out += fmt::format("{} {}\n", name, value);
        } else {
            out += fmt::format("{}{{{}}} {}\n", name, labels, value);
        }
    }
    return out;
}

Handler metrics_handler(std::shared_ptr<Metrics> metrics) {
    return [metrics](Request&) -> boost::asio::awaitable<Reply> {
        Reply reply;
        reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
        reply.version_header = false;
        reply.body = metrics->render();
        co_return reply;
    };
}

}  // namespace mf::http
