#pragma once

#include "http/router.hpp"
#include "ui/database_routes.hpp"

namespace mf::ui {

// The artifact search websocket (docs/ui.md#search):
// GET /search/flows/{flow_id}/runs/{run_number} and its older path
// /flows/{flow_id}/runs/{run_number}/search, with `key`, `value` and `scope`
// (ARTIFACT, FOREACH_VARIABLE). It streams progress and result frames, then closes. A GET
// without an upgrade answers the reference's 500 generic-error.
void add_search_routes(http::Router& router, const DatabaseContext& context);

}  // namespace mf::ui
