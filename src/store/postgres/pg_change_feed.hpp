#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/postgres/pg_own_backends.hpp"
#include "store/row_change.hpp"

namespace mf::pg {

// Every other writer's changes, from the notify triggers: a thread of its own holds a
// connection of its own that LISTENs on the `notify` channel, creates the triggers when they
// are missing, sends a keep-alive every second and reconnects a second after any failure.
// Changes committed while it is not listening are not seen. The notifications of the
// store's own backends are skipped: the store publishes those changes itself.
class ChangeFeed {
public:
    // Returns once the first attempt to listen has ended, listening or failed, or after
    // `first_attempt_wait`: a write acknowledged after that (with the database reachable) is
    // seen, and a database that cannot be reached does not hold the caller up for long.
    ChangeFeed(std::string conninfo, std::string trigger_schema, ChangeSink sink,
               std::shared_ptr<const OwnBackends> own_backends,
               std::chrono::milliseconds first_attempt_wait);
    ~ChangeFeed();
    ChangeFeed(const ChangeFeed&) = delete;
    ChangeFeed& operator=(const ChangeFeed&) = delete;

private:
    void run();
    void listen_once();
    void end_first_attempt();

    const std::string conninfo_;
    const std::string trigger_schema_;
    const ChangeSink sink_;
    const std::shared_ptr<const OwnBackends> own_backends_;
    std::atomic<bool> stopping_{false};
    std::mutex first_attempt_mutex_;
    std::condition_variable first_attempt_ended_;
    bool first_attempt_done_ = false;
    std::thread thread_;
};

}  // namespace mf::pg
