#include <boost/json.hpp>

#include "api/body.hpp"
#include "api/filters.hpp"
#include "api/heartbeat_reply.hpp"
#include "api/paging.hpp"
#include "api/routes.hpp"
#include "api/streaming.hpp"
#include "model/heartbeat.hpp"

namespace mf::api {
namespace {

namespace json = boost::json;

Awaitable create_run(const Context& context, http::Request& request) {
    auto body = parse_object_body(request.body);
    if (!body) co_return error_reply(body.error());
    FieldReader fields(*body);
    NewRun run;
    run.flow_id = request.param("flow_id");
    run.run_id = fields.string("run_number");
    run.user_name = fields.string("user_name");
    run.tags = fields.tags("tags");
    run.system_tags = fields.tags("system_tags");
    if (fields.error()) co_return error_reply(*fields.error());
    if (run.run_id && run.run_id->empty()) run.run_id.reset();
    if (run.run_id && is_all_digits(*run.run_id)) {
        co_return error_reply(Error::invalid("provided run_id may not be a numeric"));
    }
    if (run.run_id && utf8_length(*run.run_id) > kMaxVarchar) {
        co_return error_reply(Error::invalid("'run_number' is longer than 255 characters"));
    }
    run.ts_epoch = context.clock.now_ms();
    if (sends_heartbeats(run.system_tags)) run.heartbeat_ts = run.ts_epoch / 1000;
    auto created = co_await context.store.create_run(std::move(run));
    if (!created) co_return error_reply(created.error());
    JsonWriter out;
    write(out, *created, false);
    co_return json_reply(out.take());
}

Awaitable get_run(const Context& context, http::Request& request) {
    auto run = co_await context.store.get_run(run_path(request));
    if (!run) co_return error_reply(run.error());
    co_return json_reply(to_json(*run));
}

Awaitable list_runs(const Context& context, http::Request& request) {
    auto query = read_run_query(request);
    if (!query) co_return error_reply(query.error());
    if (!query->paging) {
        PageReader<Run> read_page = [&context, flow_id = request.param("flow_id"),
                                     query = *query](Paging page) {
            RunQuery paged = query;
            paged.paging = page;
            return context.store.list_runs(flow_id, std::move(paged));
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto paging = query->paging;
    auto runs = co_await context.store.list_runs(request.param("flow_id"), std::move(*query));
    if (!runs) co_return error_reply(runs.error());
    co_return list_reply(std::move(*runs), paging, CursorFamily::runs);
}

Awaitable heartbeat_run(const Context& context, http::Request& request) {
    co_return heartbeat_reply(
        co_await context.store.heartbeat_run(run_path(request), context.clock.now_s()));
}

// Validation order and texts as the reference's (docs/api.md#tag-mutation).
Result<TagMutation> read_tag_mutation(const json::object& body) {
    static constexpr const char* kKeys[] = {"tags_to_add", "tags_to_remove"};
    for (const char* key : kKeys) {
        const auto* list = body.if_contains(key);
        if (list && !list->is_array()) return Error::invalid(std::string(key) + " must be a list");
    }
    TagMutation mutation;
    for (const char* key : kKeys) {
        const auto* list = body.if_contains(key);
        if (!list) continue;
        auto& target = key == kKeys[0] ? mutation.add : mutation.remove;
        for (const auto& tag : list->as_array()) {
            if (!tag.is_string()) return Error::invalid("All tag values must be strings");
            target.emplace_back(tag.as_string());
        }
    }
    return mutation;
}

Awaitable mutate_tags(const Context& context, http::Request& request) {
    auto body = parse_object_body(request.body);
    if (!body) co_return error_reply(body.error());
    auto mutation = read_tag_mutation(*body);
    if (!mutation) co_return error_reply(mutation.error());
    auto tags = co_await context.store.mutate_run_tags(run_path(request), std::move(*mutation));
    if (!tags) co_return error_reply(tags.error());
    JsonWriter out;
    out.begin_object();
    out.key("tags").raw(tags->tags);
    out.end_object();
    co_return json_reply(out.take());
}

}  // namespace

void add_run_routes(http::Router& router, const Context& context) {
    router.add("GET", "/flows/{flow_id}/runs",
               [&context](http::Request& r) { return list_runs(context, r); });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}",
               [&context](http::Request& r) { return get_run(context, r); });
    router.add("POST", "/flows/{flow_id}/run",
               [&context](http::Request& r) { return create_run(context, r); });
    router.add("POST", "/flows/{flow_id}/runs/{run_number}/heartbeat",
               [&context](http::Request& r) { return heartbeat_run(context, r); });
    router.add("PATCH", "/flows/{flow_id}/runs/{run_number}/tag/mutate",
               [&context](http::Request& r) { return mutate_tags(context, r); });
}

}  // namespace mf::api
