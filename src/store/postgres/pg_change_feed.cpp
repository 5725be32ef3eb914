#include "store/postgres/pg_change_feed.hpp"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_triggers.hpp"

namespace mf::pg {
namespace {

using namespace std::chrono_literals;

// How often the loop looks at the stop flag, and the keep-alive's period.
constexpr auto kPollInterval = 100ms;
constexpr auto kKeepAliveInterval = 1s;
constexpr auto kReconnectDelay = 1s;

}  // namespace

ChangeFeed::ChangeFeed(std::string conninfo, std::string trigger_schema, ChangeSink sink,
                       std::shared_ptr<const OwnBackends> own_backends,
                       std::chrono::milliseconds first_attempt_wait)
    : conninfo_(std::move(conninfo)),
      trigger_schema_(std::move(trigger_schema)),
      sink_(std::move(sink)),
      own_backends_(std::move(own_backends)),
      thread_([this] { run(); }) {
    std::unique_lock lock(first_attempt_mutex_);
    first_attempt_ended_.wait_for(lock, first_attempt_wait, [this] { return first_attempt_done_; });
}

ChangeFeed::~ChangeFeed() {
    stopping_ = true;
    thread_.join();
}

void ChangeFeed::run() {
    pthread_setname_np(pthread_self(), "mf-pg-changes");
    while (!stopping_) {
        try {
            listen_once();
        } catch (const std::exception& e) {
            spdlog::warn("change feed: {}; listening again in 1 s", e.what());
        }
        end_first_attempt();
        for (auto waited = 0ms; waited < kReconnectDelay && !stopping_; waited += kPollInterval)
            std::this_thread::sleep_for(kPollInterval);
    }
}

void ChangeFeed::listen_once() {
    BlockingConnection db(conninfo_);
    // The schema may still be migrating: the triggers then fail, and the next attempt
    // comes a second later.
    create_notify_triggers(db, trigger_schema_);
    db.execute("LISTEN notify");
    spdlog::info("change feed: listening for changes on the notify channel");
    end_first_attempt();
    auto last_keep_alive = std::chrono::steady_clock::now();
    while (!stopping_) {
        pollfd descriptor{PQsocket(db.native()), POLLIN, 0};
        const int ready = ::poll(&descriptor, 1, static_cast<int>(kPollInterval.count()));
        if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
        if (PQconsumeInput(db.native()) == 0) throw ConnectionFailed(PQerrorMessage(db.native()));
        while (PGnotify* notice = PQnotifies(db.native())) {
            std::unique_ptr<PGnotify, void (*)(void*)> owned(notice, PQfreemem);
            if (own_backends_->contains(notice->be_pid)) continue;
            if (auto change = parse_change_payload(notice->extra)) sink_(std::move(*change));
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_keep_alive >= kKeepAliveInterval) {
            // A round trip: a connection that died quietly fails here.
            db.execute("NOTIFY listen");
            last_keep_alive = now;
        }
    }
}

void ChangeFeed::end_first_attempt() {
    {
        std::lock_guard lock(first_attempt_mutex_);
        if (first_attempt_done_) return;
        first_attempt_done_ = true;
    }
    first_attempt_ended_.notify_all();
}

}  // namespace mf::pg
