#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace mf::http {

// Maps method + path to a handler by exact route templates (docs/api.md#conventions): a `{name}`
// segment matches one non-empty segment, percent-decoded; there is no trailing-slash folding.
class Router {
public:
    explicit Router(std::string path_prefix = {});

    void add(std::string_view method, std::string_view route_template, Handler handler);

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
};

}  // namespace mf::http
