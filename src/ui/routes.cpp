#include "ui/routes.hpp"

#include "http/url.hpp"

namespace mf::ui {

void add_routes(http::Router& router, const Context& context) {
    add_admin_routes(router, context);
    add_plugin_routes(router, context);
}

void add_static_routes(http::Router& router, const StaticBundle* bundle, std::string path_prefix) {
    while (!path_prefix.empty() && path_prefix.back() == '/') path_prefix.pop_back();
    if (!bundle) {
        router.add("GET", "/",
                   [](http::Request&) -> Awaitable { co_return missing_bundle_page(); });
        return;
    }
    router.set_fallback(
        "GET", "static",
        [bundle, prefix = std::move(path_prefix)](http::Request& request) -> Awaitable {
            std::string_view target = request.target;
            target = target.substr(0, target.find('?'));
            target.remove_prefix(prefix.size());  // the router checked it is there
            auto path = http::percent_decode(target, false);
            co_return bundle->serve(request, path ? *path : std::string("/"));
        });
}

}  // namespace mf::ui
