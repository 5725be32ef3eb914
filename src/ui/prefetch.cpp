#include "ui/prefetch.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {

namespace asio = boost::asio;

struct Prefetcher::Shared {
    explicit Shared(asio::any_io_executor loop) : timer(std::move(loop)) {}
    asio::steady_timer timer;
    std::atomic<bool> stopped{false};
};

namespace {

// Reads into the caches the DAG and parameters of each run started since `since_ms`, newest
// first, at most `limit` runs.
asio::awaitable<void> prefetch_pass(const DatabaseContext& context, std::int64_t since_ms,
                                    std::int64_t limit, const std::atomic<bool>& stopped) {
    UiListQuery recent{.resource = UiResource::runs,
                       .filters = {Filter{"ts_epoch", FilterOp::ge, {std::to_string(since_ms)}}},
                       .order = {{"ts_epoch", true}},
                       .limit = limit,
                       .clock = status_clock(context)};
    auto runs = co_await context.reader.ui_list(std::move(recent));
    if (!runs) {
        spdlog::warn("UI: prefetch: the database could not list recent runs: {}",
                     runs.error().message);
        co_return;
    }
    for (const auto& run : *runs) {
        if (stopped) co_return;
        UiListQuery parameters_task{
            .resource = UiResource::tasks,
            .scope = {.flow_id = cell(UiResource::runs, run, "flow_id"),
                      .run =
                          ObjectKey::parse(cell(UiResource::runs, run, "run_number").value_or("")),
                      .step_name = "_parameters"},
            .limit = 1,
            .clock = status_clock(context)};
        auto tasks = co_await context.reader.ui_list(std::move(parameters_task));
        if (!tasks || tasks->empty()) continue;
        const auto task = task_path_of(UiResource::tasks, tasks->front());
        auto dag = co_await context.storage->dag(task, false);
        // A datastore out of reach would cost each run its retries: the next pass tries again.
        if (!dag && datastore::out_of_reach(dag.error())) {
            spdlog::warn("UI: prefetch: the datastore could not be read: {}", dag.error().message);
            co_return;
        }
        co_await context.storage->parameters(task, false);
    }
}

asio::awaitable<void> prefetch_passes(const DatabaseContext& context, PrefetchSettings settings,
                                      std::shared_ptr<Prefetcher::Shared> shared,
                                      std::shared_ptr<std::atomic<std::uint64_t>> passes) {
    while (!shared->stopped) {
        const std::int64_t since_ms = context.clock.now_ms() - settings.since_s * 1000;
        co_await prefetch_pass(context, since_ms, settings.limit, shared->stopped);
        ++*passes;
        // stop() cancels the timer on this loop: either it ran already and `stopped` says so,
        // or it will end the wait.
        if (shared->stopped || settings.interval.count() == 0) break;
        shared->timer.expires_after(settings.interval);
        boost::system::error_code cancelled;
        co_await shared->timer.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
    }
}

}  // namespace

PrefetchSettings prefetch_settings_from_environment() {
    PrefetchSettings settings;
    settings.since_s = number_from_environment("PREFETCH_RUNS_SINCE", settings.since_s);
    settings.limit = number_from_environment("PREFETCH_RUNS_LIMIT", settings.limit);
    settings.interval = std::chrono::seconds(
        number_from_environment("MF_UI_PREFETCH_INTERVAL", settings.interval.count()));
    return settings;
}

Prefetcher::Prefetcher(const DatabaseContext& context, PrefetchSettings settings)
    : context_(context),
      settings_(settings),
      passes_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

Prefetcher::~Prefetcher() {
    stop();
}

void Prefetcher::start(asio::any_io_executor loop) {
    if (!context_.storage || settings_.limit == 0 || shared_) return;
    shared_ = std::make_shared<Shared>(loop);
    asio::co_spawn(loop, prefetch_passes(context_, settings_, shared_, passes_), asio::detached);
}

void Prefetcher::stop() {
    if (!shared_ || shared_->stopped.exchange(true)) return;
    asio::post(shared_->timer.get_executor(), [shared = shared_] { shared->timer.cancel(); });
}

}  // namespace mf::ui
