#include "api/body.hpp"
#include "api/filters.hpp"
#include "api/heartbeat_reply.hpp"
#include "api/paging.hpp"
#include "api/routes.hpp"
#include "api/streaming.hpp"
#include "model/heartbeat.hpp"

namespace mf::api {
namespace {

Awaitable create_task(const Context& context, http::Request& request) {
    auto body = parse_object_body(request.body);
    if (!body) co_return error_reply(body.error());
    FieldReader fields(*body);
    NewTask task;
    task.task_name = fields.short_string("task_id");
    task.user_name = fields.string("user_name");
    task.tags = fields.tags("tags");
    task.system_tags = fields.tags("system_tags");
    if (fields.error()) co_return error_reply(*fields.error());
    if (task.task_name && task.task_name->empty()) task.task_name.reset();
    if (task.task_name && is_all_digits(*task.task_name)) {
        co_return error_reply(Error::invalid("provided task_name may not be a numeric"));
    }
    task.ts_epoch = context.clock.now_ms();
    if (sends_heartbeats(task.system_tags)) task.heartbeat_ts = task.ts_epoch / 1000;
    auto created = co_await context.store.create_task(step_path(request), std::move(task));
    if (!created) co_return error_reply(created.error());
    co_return json_reply(to_json(*created));
}

Awaitable get_task(const Context& context, http::Request& request) {
    auto task = co_await context.store.get_task(task_path(request));
    if (!task) co_return error_reply(task.error());
    co_return json_reply(to_json(*task));
}

Awaitable list_tasks(const Context& context, http::Request& request) {
    auto query = read_task_query(request);
    if (!query) co_return error_reply(query.error());
    if (!query->paging) {
        PageReader<Task> read_page = [&context, path = step_path(request),
                                      query = *query](Paging page) {
            TaskQuery paged = query;
            paged.paging = page;
            return context.store.list_tasks(path, std::move(paged));
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto paging = query->paging;
    auto tasks = co_await context.store.list_tasks(step_path(request), std::move(*query));
    if (!tasks) co_return error_reply(tasks.error());
    co_return list_reply(std::move(*tasks), paging, CursorFamily::tasks);
}

Awaitable filtered_tasks(const Context& context, http::Request& request) {
    TaskPatternQuery query;
    // Empty parameters are no condition, as in the reference.
    const auto* field = request.query_value("metadata_field_name");
    if (field && !field->empty()) query.field_name = *field;
    // The client builds patterns such as "outer:1" to name one foreach branch; matched
    // unanchored, as the reference does, that also picks "outer:10".
    const auto* pattern = request.query_value("pattern");
    if (pattern && !pattern->empty()) query.pattern = "^(" + *pattern + ")$";
    auto tasks =
        co_await context.store.find_tasks_by_metadata(step_path(request), std::move(query));
    if (!tasks) co_return error_reply(tasks.error());
    JsonWriter out;
    out.begin_array();
    for (const auto& task : *tasks) out.string(task_pathspec(task));
    out.end_array();
    co_return json_reply(out.take());
}

Awaitable heartbeat_task(const Context& context, http::Request& request) {
    co_return heartbeat_reply(
        co_await context.store.heartbeat_task(task_path(request), context.clock.now_s()));
}

}  // namespace

void add_task_routes(http::Router& router, const Context& context) {
    const std::string step = "/flows/{flow_id}/runs/{run_number}/steps/{step_name}";
    router.add("GET", step + "/tasks",
               [&context](http::Request& r) { return list_tasks(context, r); });
    router.add("GET", step + "/filtered_tasks",
               [&context](http::Request& r) { return filtered_tasks(context, r); });
    router.add("GET", step + "/tasks/{task_id}",
               [&context](http::Request& r) { return get_task(context, r); });
    router.add("POST", step + "/task",
               [&context](http::Request& r) { return create_task(context, r); });
    router.add("POST", step + "/tasks/{task_id}/heartbeat",
               [&context](http::Request& r) { return heartbeat_task(context, r); });
}

}  // namespace mf::api
