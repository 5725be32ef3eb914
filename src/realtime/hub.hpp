#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/query.hpp"
#include "store/row_change.hpp"
#include "store/ui_reader.hpp"

// The web UI's realtime updates (docs/ui.md#realtime): websockets subscribe to resource
// paths, and each committed change is reloaded as the GET routes render it and pushed to the
// subscriptions whose path and filters it matches.
namespace mf::realtime {

// What a subscription listens to: one resource path, with numbers for runs and tasks, and
// the filters of its query.
struct Topic {
    std::string path;
    UiResource resource = UiResource::runs;
    std::vector<Filter> filters;
    std::vector<TagFilter> tag_filters;
};

struct HubOptions {
    std::chrono::seconds queue_ttl{300};  // WS_QUEUE_TTL_SECONDS: how far back `since` reaches
    std::size_t max_sockets = 10'000;     // more are refused
    std::size_t max_subscriptions = 200;  // per socket; more are ignored
    std::size_t send_queue_bytes = 4 * 1024 * 1024;  // per socket; beyond, the socket is dropped
    std::chrono::seconds idle_timeout{60};  // a socket that sends nothing this long is closed
    // How often the heartbeat monitors look at the runs and tasks they watch.
    std::chrono::milliseconds monitor_interval{70'000};
};

// What the hub needs from the UI layer.
struct HubContext {
    UiReader& reader;
    // The time and thresholds of the derived statuses, now.
    std::function<UiStatusClock()> status_clock;
    // A SUBSCRIBE's resource (path and query) as a topic; nullopt when not subscribable.
    std::function<std::optional<Topic>(std::string_view resource)> parse_topic;
    // A row as the GET routes write it.
    std::function<void(std::string& out, UiResource resource, const UiRow& row)> write_row;
};

// Counters for /metrics.
struct HubStats {
    static constexpr std::array<double, 10> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05,  0.1,    0.25,  0.5,  1};
    std::int64_t connections = 0;
    std::uint64_t events = 0;   // objects pushed (each to every matching subscription)
    std::uint64_t dropped = 0;  // sockets dropped because they read too slowly
    // Seconds from a change reaching the hub to its frame written to a socket.
    std::array<std::uint64_t, kLatencyBuckets.size()> latency_buckets{};
    std::uint64_t latency_count = 0;
    double latency_sum = 0;
};

class Hub {
public:
    Hub(HubContext context, HubOptions options);
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // Starts the hub's own event loop, on a thread of its own, where its state lives and its
    // reads run: a change's reload never waits behind the requests of the server's loops, nor
    // for one of their database connections. Until then the hub accepts no socket and ignores
    // changes: start it once the store watches changes, so that a socket misses none.
    void start();
    // The hub's event loop, once started: a store may open its connections ahead.
    boost::asio::any_io_executor executor() const;
    // Closes every socket and stops the monitors; changes after this are ignored. The hub's
    // loop ends once its reads in flight have.
    void stop();
    // Where the store reports committed changes; safe to call after the hub is gone.
    ChangeSink sink();
    // False before start, after stop, and when max_sockets are open.
    bool accepting() const;
    // Serves one websocket over `socket`, whose upgrade request had this target and headers
    // (names lower-cased), until it closes. Runs on the socket's event loop.
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::string target,
                                       std::vector<std::pair<std::string, std::string>> headers);
    HubStats stats() const;

private:
    struct Impl;
    struct Loop;
    std::shared_ptr<Impl> impl_;
    std::unique_ptr<Loop> loop_;
};

}  // namespace mf::realtime
