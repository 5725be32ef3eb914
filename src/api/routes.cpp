#include "api/routes.hpp"

namespace mf::api {

void add_routes(http::Router& router, const Context& context) {
    add_admin_routes(router, context);
    add_flow_routes(router, context);
    add_run_routes(router, context);
    add_step_routes(router, context);
    add_task_routes(router, context);
    add_metadata_routes(router, context);
    add_artifact_routes(router, context);
}

}  // namespace mf::api
