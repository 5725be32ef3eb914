#include "ui/resource_routes.hpp"

namespace mf::ui {

// Metadata rows carry an attempt_id taken from their "attempt_id:N" tag, null without one.
void add_metadata_routes(http::Router& router, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::metadata);
    };
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/metadata", list);
    router.add("GET",
               "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}/metadata",
               list);
}

}  // namespace mf::ui
