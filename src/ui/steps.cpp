#include "ui/resource_routes.hpp"

namespace mf::ui {

void add_step_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps",
               [&context](http::Request& request) {
                   return list_rows(context, request, UiResource::steps);
               });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps/{step_name}",
               [&context](http::Request& request) {
                   return single_row(
                       context, request,
                       UiListQuery{.resource = UiResource::steps, .scope = scope_of(request)});
               });
}

}  // namespace mf::ui
