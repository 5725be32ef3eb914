#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "store/row_change.hpp"

namespace mf::pg {

// Every writer's changes, from the notify triggers: a thread of its own holds a connection
// of its own that LISTENs on the `notify` channel, creates the triggers when they are
// missing, sends a keep-alive every second and reconnects a second after any failure.
// Changes committed while it reconnects are not seen.
class ChangeFeed {
public:
    ChangeFeed(std::string conninfo, std::string trigger_schema, ChangeSink sink);
    ~ChangeFeed();
    ChangeFeed(const ChangeFeed&) = delete;
    ChangeFeed& operator=(const ChangeFeed&) = delete;

private:
    void run();
    void listen_once();

    const std::string conninfo_;
    const std::string trigger_schema_;
    const ChangeSink sink_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace mf::pg
