#include "api/body.hpp"
#include "api/paging.hpp"
#include "api/routes.hpp"
#include "api/streaming.hpp"

namespace mf::api {
namespace {

Awaitable create_flow(const Context& context, http::Request& request) {
    auto body = parse_object_body(request.body);
    if (!body) co_return error_reply(body.error());
    FieldReader fields(*body);
    NewFlow flow{request.param("flow_id"), fields.string("user_name"), fields.tags("tags"),
                 fields.tags("system_tags"), context.clock.now_ms()};
    if (fields.error()) co_return error_reply(*fields.error());
    auto created = co_await context.store.create_flow(std::move(flow));
    if (!created) co_return error_reply(created.error());
    co_return json_reply(to_json(*created));
}

Awaitable get_flow(const Context& context, http::Request& request) {
    auto flow = co_await context.store.get_flow(request.param("flow_id"));
    if (!flow) co_return error_reply(flow.error());
    co_return json_reply(to_json(*flow));
}

Awaitable list_flows(const Context& context, http::Request& request) {
    auto paging = read_paging(request, CursorFamily::flows, false);
    if (!paging) co_return error_reply(paging.error());
    if (!*paging) {
        PageReader<Flow> read_page = [&context](Paging page) {
            return context.store.list_flows(page);
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto flows = co_await context.store.list_flows(*paging);
    if (!flows) co_return error_reply(flows.error());
    co_return list_reply(std::move(*flows), *paging, CursorFamily::flows);
}

}  // namespace

void add_flow_routes(http::Router& router, const Context& context) {
    router.add("GET", "/flows", [&context](http::Request& r) { return list_flows(context, r); });
    router.add("GET", "/flows/{flow_id}",
               [&context](http::Request& r) { return get_flow(context, r); });
    router.add("POST", "/flows/{flow_id}",
               [&context](http::Request& r) { return create_flow(context, r); });
}

}  // namespace mf::api
