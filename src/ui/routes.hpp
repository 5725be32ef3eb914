#pragma once

#include "http/router.hpp"
#include "ui/context.hpp"
#include "ui/static_bundle.hpp"

namespace mf::ui {

// Registers the UI backend's routes (at the root, as the reference: no /api), one function
// per resource file.
void add_routes(http::Router& router, const Context& context);

void add_admin_routes(http::Router& router, const Context& context);
void add_plugin_routes(http::Router& router, const Context& context);

// The static UI: every GET that no route takes gets a file of the bundle or index.html;
// without a bundle, `/` says how to configure one. `path_prefix` is the router's.
void add_static_routes(http::Router& router, const StaticBundle* bundle, std::string path_prefix);

}  // namespace mf::ui
