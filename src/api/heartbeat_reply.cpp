#include "api/heartbeat_reply.hpp"

#include "api/reply.hpp"
#include "model/heartbeat.hpp"

namespace mf::api {

http::Reply heartbeat_reply(const Result<bool>& updated) {
    if (!updated && updated.error().kind != ErrorKind::not_found) {
        return error_reply(updated.error());
    }
    unsigned status = updated && updated.value() ? 200 : 404;
    return json_reply(double_encoded("{\"wait_time_in_seconds\": " +
                                     std::to_string(kHeartbeatIntervalSeconds) + "}"),
                      status);
}

}  // namespace mf::api
