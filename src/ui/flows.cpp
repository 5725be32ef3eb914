#include "ui/resource_routes.hpp"

namespace mf::ui {

void add_flow_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/flows", [&context](http::Request& request) {
        return list_rows(context, request, UiResource::flows);
    });
    router.add("GET", "/flows/{flow_id}", [&context](http::Request& request) {
        return single_row(context, request,
                          UiListQuery{.resource = UiResource::flows, .scope = scope_of(request)});
    });
}

}  // namespace mf::ui
