#include "ui/resource_routes.hpp"

namespace mf::ui {

void add_step_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    routes.add("/flows/{flow_id}/runs/{run_number}/steps", UiResource::steps,
               [&context](http::Request& request) {
                   return list_rows(context, request, UiResource::steps);
               });
    routes.add("/flows/{flow_id}/runs/{run_number}/steps/{step_name}", UiResource::steps,
               [&context](http::Request& request) {
                   return single_row(
                       context, request,
                       UiListQuery{.resource = UiResource::steps, .scope = scope_of(request)});
               });
}

}  // namespace mf::ui
