#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "ui/database_routes.hpp"

namespace mf::ui {

// Which runs get their DAG and parameters read ahead into the caches, and how often:
// runs started within `since_s` seconds (PREFETCH_RUNS_SINCE, two days), the newest
// `limit` of them (PREFETCH_RUNS_LIMIT, 50; 0 turns the prefetch off), when the service
// starts and then every `interval` (MF_UI_PREFETCH_INTERVAL seconds, 300; 0: only at start).
struct PrefetchSettings {
    std::int64_t since_s = 2 * 86400;
    std::int64_t limit = 50;
    std::chrono::seconds interval{300};
};
PrefetchSettings prefetch_settings_from_environment();

// Reads recent runs' DAGs and parameters into the datastore's caches, so that the first
// look at a run is served from memory. One run at a time, on one event loop, with the reads
// on the datastore's worker pool: a pass never holds a request up for more than one read.
// Failures are not kept (the route reads again and answers the error).
class Prefetcher {
public:
    Prefetcher(const DatabaseContext& context, PrefetchSettings settings);
    ~Prefetcher();

    // Starts the passes on `loop`; stop() before the loop ends.
    void start(boost::asio::any_io_executor loop);
    // Ends the waiting between passes, and a pass after the run it is reading.
    void stop();
    // Passes completed, for /metrics.
    std::uint64_t passes() const { return passes_->load(); }

    struct Shared;  // what the running passes and stop() share

private:
    const DatabaseContext& context_;
    PrefetchSettings settings_;
    std::shared_ptr<std::atomic<std::uint64_t>> passes_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace mf::ui
