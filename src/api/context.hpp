#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "http/message.hpp"
#include "model/clock.hpp"
#include "model/ids.hpp"
#include "store/store.hpp"

namespace mf::api {

// What every handler needs; owned by main (or a test) and outliving the server.
struct Context {
    Store& store;
    const Clock& clock;
    std::function<bool()> draining = [] { return false; };  // the service is shutting down
};

using Awaitable = boost::asio::awaitable<http::Reply>;

// For the routes the reference answers without METADATA_SERVICE_VERSION at any status
// (docs/api.md#conventions).
inline Awaitable without_version_header(Awaitable reply) {
    auto result = co_await std::move(reply);
    result.version_header = false;
    co_return result;
}

inline RunPath run_path(const http::Request& request) {
    return {request.param("flow_id"), ObjectKey::parse(request.param("run_number"))};
}

inline StepPath step_path(const http::Request& request) {
    return {request.param("flow_id"), ObjectKey::parse(request.param("run_number")),
            request.param("step_name")};
}

inline TaskPath task_path(const http::Request& request) {
    return {request.param("flow_id"), ObjectKey::parse(request.param("run_number")),
            request.param("step_name"), ObjectKey::parse(request.param("task_id"))};
}

}  // namespace mf::api
