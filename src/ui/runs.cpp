#include "ui/resource_routes.hpp"

namespace mf::ui {

// A run in a path is its number when all digits, else its run_id.
void add_run_routes(http::Router& router, const DatabaseContext& context) {
    auto list = [&context](http::Request& request) {
        return list_rows(context, request, UiResource::runs);
    };
    router.add("GET", "/runs", list);
    router.add("GET", "/flows/{flow_id}/runs", list);
    router.add("GET", "/flows/{flow_id}/runs/{run_number}", [&context](http::Request& request) {
        return single_row(context, request,
                          UiListQuery{.resource = UiResource::runs, .scope = scope_of(request)});
    });
}

}  // namespace mf::ui
