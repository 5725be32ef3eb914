#include "ui/resource_routes.hpp"

namespace mf::ui {

// Artifact listings from the database; their values need the object store.
void add_artifact_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::artifacts,
                         {.default_order = {{"attempt_id", true}}});
    };
    routes.add("/flows/{flow_id}/runs/{run_number}/artifacts", UiResource::artifacts, list);
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/artifacts",
               UiResource::artifacts, list);
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}/artifacts",
               UiResource::artifacts, list);
}

}  // namespace mf::ui
