#pragma once

#include "http/message.hpp"
#include "model/result.hpp"

namespace mf::api {

// Run and task heartbeats answer the same double-encoded body at every status
// (docs/api.md#heartbeats): 200 when the heartbeat was recorded, 404 when the object is unknown or
// was heartbeated less than the interval ago. The Metaflow sidecar decodes the body twice.
http::Reply heartbeat_reply(const Result<bool>& updated);

}  // namespace mf::api
