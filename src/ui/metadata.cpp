#include "ui/resource_routes.hpp"

namespace mf::ui {

// Metadata rows carry an attempt_id taken from their "attempt_id:N" tag, null without one.
void add_metadata_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::metadata);
    };
    routes.add("/flows/{flow_id}/runs/{run_number}/metadata", UiResource::metadata, list);
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}/metadata",
               UiResource::metadata, list);
}

}  // namespace mf::ui
