#include "ui/resource_routes.hpp"

namespace mf::ui {

// A run in a path is its number when all digits, else its run_id.
void add_run_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::runs);
    };
    routes.add("/runs", UiResource::runs, list);
    routes.add("/flows/{flow_id}/runs", UiResource::runs, list);
    routes.add("/flows/{flow_id}/runs/{run_number}", UiResource::runs,
               [&context](http::Request& request) {
                   return single_row(
                       context, request,
                       UiListQuery{.resource = UiResource::runs, .scope = scope_of(request)});
               });
}

}  // namespace mf::ui
