#include "ui/notifications.hpp"
#include "ui/reply.hpp"
#include "ui/routes.hpp"

namespace mf::ui {
namespace {

// Our own state in place of the reference's cache processes: the store's connection pool
// and failed database calls, where the store has them.
boost::json::object status(const Context& context) {
    boost::json::object store;
    if (auto pool = context.store.pool_gauges()) {
        store["pool"] = {{"open", pool->open}, {"idle", pool->idle}, {"waiting", pool->waiting}};
    }
    if (auto errors = context.store.database_errors()) {
        store["errors"] = {{"unavailable", errors->unavailable},
                           {"timeout", errors->timeout},
                           {"other", errors->other}};
    }
    return {{"cache", boost::json::object()},
            {"store", std::move(store)},
            {"draining", context.draining()}};
}

}  // namespace

void add_admin_routes(http::Router& router, const Context& context) {
    router.add("GET", "/ping",
               [](http::Request&) -> Awaitable { co_return text_reply("pong", true); });
    router.add("GET", "/version", [&context](http::Request&) -> Awaitable {
        co_return text_reply(context.settings.version, false);
    });
    router.add("GET", "/links", [&context](http::Request&) -> Awaitable {
        co_return json_reply(context.settings.links);
    });
    router.add("GET", "/notifications", [&context](http::Request& request) -> Awaitable {
        co_return json_reply(filter_notifications(context.settings.notifications, request.query));
    });
    router.add("GET", "/status",
               [&context](http::Request&) -> Awaitable { co_return json_reply(status(context)); });
    router.add("GET", "/features", [&context](http::Request&) -> Awaitable {
        co_return json_reply(context.settings.features);
    });
    router.add("GET", "/config", [&context](http::Request&) -> Awaitable {
        co_return json_reply(context.settings.config);
    });
}

}  // namespace mf::ui
