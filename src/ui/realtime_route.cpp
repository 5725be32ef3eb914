#include "ui/realtime_route.hpp"

#include <memory>

#include "http/url.hpp"
#include "model/text.hpp"
#include "ui/envelope.hpp"
#include "ui/list_query.hpp"
#include "ui/resource_routes.hpp"

namespace mf::ui {
namespace {

std::optional<realtime::Topic> parse_topic(const ResourceRoutes& routes,
                                           std::string_view resource) {
    const auto question = resource.find('?');
    const auto encoded_path = resource.substr(0, question);
    auto kind = routes.resource_of(encoded_path);
    if (!kind) return std::nullopt;
    auto path = http::percent_decode(encoded_path, false);
    if (!path) return std::nullopt;
    http::Request request;
    if (question != std::string_view::npos) {
        auto query = http::parse_query(resource.substr(question + 1));
        if (!query) return std::nullopt;
        request.query = std::move(*query);
    }
    UiListQuery query;
    query.resource = *kind;
    if (!read_list_query(request, query)) return std::nullopt;
    return realtime::Topic{std::move(*path), *kind, std::move(query.filters),
                           std::move(query.tag_filters)};
}

// The connection, once upgraded, to the hub. Made outside the handler's coroutine: GCC 12
// frees the captures of a lambda made inside one twice.
std::function<boost::asio::awaitable<void>(boost::asio::ip::tcp::socket&)> hand_over(
    realtime::Hub& hub, const http::Request& request) {
    return [&hub, target = request.target,
            headers = request.headers](boost::asio::ip::tcp::socket& socket) {
        return hub.serve(std::move(socket), target, headers);
    };
}

}  // namespace

bool asks_for_websocket(const http::Request& request) {
    const std::string* upgrade = request.header("upgrade");
    if (!upgrade) return false;
    return ascii_lower(*upgrade).find("websocket") != std::string::npos;
}

realtime::HubContext realtime_context(const DatabaseContext& context) {
    return realtime::HubContext{
        .reader = context.reader,
        .status_clock = [&context] { return status_clock(context); },
        .parse_topic = [routes = std::make_shared<const ResourceRoutes>(resource_routes(context))](
                           std::string_view resource) { return parse_topic(*routes, resource); },
        .write_row = [](std::string& out, UiResource resource,
                        const UiRow& row) { write_row(out, resource, row); },
    };
}

realtime::HubOptions realtime_options_from_environment(const StatusThresholds& thresholds) {
    const realtime::HubOptions defaults;
    const auto size = [](const char* name, std::size_t fallback) {
        return static_cast<std::size_t>(
            number_from_environment(name, static_cast<std::int64_t>(fallback)));
    };
    return realtime::HubOptions{
        .queue_ttl = std::chrono::seconds(
            number_from_environment("WS_QUEUE_TTL_SECONDS", defaults.queue_ttl.count())),
        .max_sockets = size("MF_UI_WS_MAX_SOCKETS", defaults.max_sockets),
        .max_subscriptions = size("MF_UI_WS_MAX_SUBSCRIPTIONS", defaults.max_subscriptions),
        .send_queue_bytes = size("MF_UI_WS_SEND_QUEUE_BYTES", defaults.send_queue_bytes),
        .idle_timeout = std::chrono::seconds(
            number_from_environment("MF_UI_WS_IDLE_TIMEOUT", defaults.idle_timeout.count())),
        .monitor_interval = std::chrono::milliseconds(number_from_environment(
            "MF_UI_HEARTBEAT_MONITOR_INTERVAL_MS", (thresholds.heartbeat_threshold_s + 10) * 1000)),
    };
}

void add_realtime_route(http::Router& router, realtime::Hub& hub) {
    router.add("GET", "/ws", [&hub](http::Request& request) -> boost::asio::awaitable<http::Reply> {
        http::Reply reply;
        reply.version_header = false;
        if (!asks_for_websocket(request)) {
            reply.status = 400;
            reply.body = "Bad Request: a websocket upgrade is expected";
            co_return reply;
        }
        if (!hub.accepting()) {
            reply.status = 503;
            reply.body =
                "Service Unavailable: not accepting websockets now (starting, stopping or full)";
            co_return reply;
        }
        reply.status = 101;
        reply.take_over = hand_over(hub, request);
        co_return reply;
    });
}

}  // namespace mf::ui
