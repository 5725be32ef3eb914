#include "ui/resource_routes.hpp"

namespace mf::ui {

void add_flow_routes(ResourceRoutes& routes, const DatabaseContext& context) {
    routes.add("/flows", UiResource::flows, [&context](http::Request& request) {
        return list_rows(context, request, UiResource::flows);
    });
    routes.add("/flows/{flow_id}", UiResource::flows, [&context](http::Request& request) {
        return single_row(context, request,
                          UiListQuery{.resource = UiResource::flows, .scope = scope_of(request)});
    });
}

}  // namespace mf::ui
