#pragma once

#include <cstdint>

#include "model/entities.hpp"

namespace mf {

// Seconds a heartbeat is throttled for, and the wait the server advertises to clients.
inline constexpr std::int64_t kHeartbeatIntervalSeconds = 10;

// Whether a run or task created with these system tags comes from a client that sends
// heartbeats, by the reference's rule (docs/api.md#heartbeats), quirks included.
bool sends_heartbeats(const JsonText& system_tags);

}  // namespace mf
