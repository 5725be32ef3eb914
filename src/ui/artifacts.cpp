#include "ui/resource_routes.hpp"

namespace mf::ui {

// Artifact listings from the database; their values need the object store.
void add_artifact_routes(http::Router& router, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::artifacts,
                         {.default_order = {{"attempt_id", true}}});
    };
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/artifacts", list);
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/artifacts", list);
    router.add("GET",
               "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}/artifacts",
               list);
}

}  // namespace mf::ui
