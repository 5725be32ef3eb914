#include "api/reply.hpp"
#include "api/routes.hpp"
#include "api/version.hpp"

namespace mf::api {
namespace {

http::Reply text(std::string body, bool version_header) {
    http::Reply reply;
    reply.body = std::move(body);
    reply.version_header = version_header;
    return reply;
}

Awaitable healthcheck(const Context& context) {
    auto health = co_await context.store.check_health();
    http::Reply reply;
    reply.content_type = "application/json";
    if (health) {
        reply.body = double_encoded(R"({"status": "UP"})");
    } else {
        // The reference crashes with a bare 500 here; a 503 tells load balancers to wait.
        reply.status = 503;
        reply.body = double_encoded(R"({"status": "DOWN"})");
    }
    co_return reply;
}

// Readiness for load balancers and orchestrators: not while draining, nor while the
// database is unreachable. (/healthcheck keeps the reference's answer.)
Awaitable ready(const Context& context) {
    http::Reply reply;
    reply.content_type = "application/json";
    reply.version_header = false;
    if (context.draining()) {
        reply.status = 503;
        reply.body = R"({"status": "draining"})";
        co_return reply;
    }
    auto health = co_await context.store.check_health();
    reply.status = health ? 200 : 503;
    reply.body = health ? R"({"status": "ready"})" : R"({"status": "database unavailable"})";
    co_return reply;
}

// The reference hands out AWS credentials here to any caller; this service never does.
Awaitable auth_token() {
    auto reply = json_reply(
        R"({"err_msg": "AWS credential vending is not supported by this service", "traceback": ""})",
        500);
    reply.version_header = false;
    co_return reply;
}

}  // namespace

void add_admin_routes(http::Router& router, const Context& context) {
    router.add("GET", "/ping", [](http::Request&) -> Awaitable { co_return text("pong", true); });
    router.add("GET", "/version",
               [](http::Request&) -> Awaitable { co_return text(kCompatibleVersion, false); });
    router.add("GET", "/healthcheck", [&context](http::Request&) { return healthcheck(context); });
    router.add("GET", "/ready", [&context](http::Request&) { return ready(context); });
    router.add("GET", "/auth/token", [](http::Request&) { return auth_token(); });
}

}  // namespace mf::api
