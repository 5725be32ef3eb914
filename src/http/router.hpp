#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace mf::http {

// Maps method + path to a handler by exact route templates (docs/api.md#conventions): a
// `{name}` segment matches one non-empty segment, percent-decoded; a last `{name*}` the rest
// of the path (one segment or more, each decoded, joined by '/'); there is no trailing-slash
// folding.
class Router {
public:
    explicit Router(std::string path_prefix = {});

    void add(std::string_view method, std::string_view route_template, Handler handler);
    // Adds the routes of `other` whose method is `method`, each under `mount` (e.g. the
    // metadata API read-only under "/metadata"); this router's prefix applies to them. Other
    // paths under the mount answer 404, other methods 405.
    void add_routes_of(const Router& other, std::string_view mount, std::string_view method);
    // The handler of a `method` request whose path no route matches, reported as route
    // `route_name` (a single-page application's catch-all); other methods then get 405.
    void set_fallback(std::string_view method, std::string_view route_name, Handler handler);

    struct Match {
        const Handler* handler = nullptr;  // null: `fallback` holds the 404 or 405 reply
        std::string_view route;
        Fields params;
        Reply fallback;
    };
    // `path` is the target without its query string, still percent-encoded.
    Match match(std::string_view method, std::string_view path) const;

private:
    struct Route {
        std::string method;
        std::string route_template;
        std::vector<std::string> segments;  // "{name}" marks a parameter
        Handler handler;
    };
    bool matches(const Route& route, const std::vector<std::string_view>& segments,
                 Fields* params) const;

    std::string prefix_;
    std::vector<Route> routes_;
    std::optional<Route> fallback_;
};

}  // namespace mf::http
