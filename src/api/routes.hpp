#pragma once

#include "api/context.hpp"
#include "http/router.hpp"

namespace mf::api {

// Registers the 30 routes of the metadata API (docs/api.md#routes); one function per resource file.
void add_routes(http::Router& router, const Context& context);

void add_admin_routes(http::Router& router, const Context& context);
void add_flow_routes(http::Router& router, const Context& context);
void add_run_routes(http::Router& router, const Context& context);
void add_step_routes(http::Router& router, const Context& context);
void add_task_routes(http::Router& router, const Context& context);
void add_metadata_routes(http::Router& router, const Context& context);
void add_artifact_routes(http::Router& router, const Context& context);

}  // namespace mf::api
