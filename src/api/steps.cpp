#include "api/body.hpp"
#include "api/render.hpp"
#include "api/reply.hpp"
#include "api/routes.hpp"

namespace mf::api {
namespace {

Awaitable create_step(const Context& context, http::Request& request) {
    auto body = parse_object_body(request.body);
    if (!body) co_return error_reply(body.error());
    FieldReader fields(*body);
    // Steps default user_name to "" where every other object has null (docs/api.md#steps).
    NewStep step{fields.string("user_name", ""), fields.tags("tags"), fields.tags("system_tags"),
                 context.clock.now_ms()};
    if (fields.error()) co_return error_reply(*fields.error());
    if (utf8_length(request.param("step_name")) > kMaxVarchar) {
        co_return error_reply(Error::invalid("step name is longer than 255 characters"));
    }
    auto created = co_await context.store.create_step(step_path(request), std::move(step));
    if (!created) co_return error_reply(created.error());
    co_return json_reply(to_json(*created));
}

Awaitable get_step(const Context& context, http::Request& request) {
    auto step = co_await context.store.get_step(step_path(request));
    if (!step) co_return error_reply(step.error());
    co_return json_reply(to_json(*step));
}

Awaitable list_steps(const Context& context, http::Request& request) {
    auto steps = co_await context.store.list_steps(run_path(request));
    if (!steps) co_return error_reply(steps.error());
    co_return json_reply(to_json(*steps));
}

}  // namespace

void add_step_routes(http::Router& router, const Context& context) {
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps",
               [&context](http::Request& r) { return list_steps(context, r); });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps/{step_name}",
               [&context](http::Request& r) { return get_step(context, r); });
    router.add("POST", "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/step",
               [&context](http::Request& r) { return create_step(context, r); });
}

}  // namespace mf::api
