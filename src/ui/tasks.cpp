#include "model/text.hpp"
#include "ui/resource_routes.hpp"

namespace mf::ui {
namespace {

const std::vector<UiOrder> kNewestAttemptFirst = {{"attempt_id", true}};

// The UI names the tasks it wants refined with taskId=<ids>: a filter on task_id here,
// where the reference ignores it.
std::vector<Filter> task_ids(const http::Request& request) {
    const std::string* ids = request.query_value("taskId");
    if (!ids) return {};
    Filter filter{"task_id", FilterOp::eq, {}};
    for (const auto id : split(*ids, ',')) filter.values.emplace_back(std::string(id));
    return {std::move(filter)};
}

}  // namespace

// Tasks are listed one row per attempt.
void add_task_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    routes.add("/flows/{flow_id}/runs/{run_number}/tasks", UiResource::tasks,
               [&context](http::Request& request) {
                   return list_rows(context, request, UiResource::tasks,
                                    {.more_filters = task_ids(request)});
               });
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks", UiResource::tasks,
               [&context](http::Request& request) {
                   return list_rows(
                       context, request, UiResource::tasks,
                       {.default_order = kNewestAttemptFirst, .more_filters = task_ids(request)});
               });
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}",
               UiResource::tasks, [&context](http::Request& request) {
                   return single_row(context, request,
                                     UiListQuery{.resource = UiResource::tasks,
                                                 .scope = scope_of(request),
                                                 .order = kNewestAttemptFirst});
               });
    // Newest attempt first, whatever the order asked, as the reference.
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}/attempts",
               UiResource::tasks, [&context](http::Request& request) {
                   return list_rows(context, request, UiResource::tasks,
                                    {.default_order = kNewestAttemptFirst, .fixed_order = true});
               });
}

}  // namespace mf::ui
