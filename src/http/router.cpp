#include "http/router.hpp"

#include <algorithm>
#include <set>

#include "http/url.hpp"

namespace mf::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
    if (path.empty() || path.front() != '/') return segments;
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return segments;
}

bool is_parameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool is_rest(std::string_view segment) {
    return is_parameter(segment) && segment.ends_with("*}");
}

Reply plain_error(unsigned status, std::string body) {
    Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    reply.version_header = false;
    return reply;
}

}  // namespace

Router::Router(std::string path_prefix) : prefix_(std::move(path_prefix)) {
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

void Router::add(std::string_view method, std::string_view route_template, Handler handler) {
    Route route{std::string(method), std::string(route_template), {}, std::move(handler)};
    for (auto segment : split_path(route_template)) route.segments.emplace_back(segment);
    routes_.push_back(std::move(route));
}

void Router::add_routes_of(const Router& other, std::string_view mount, std::string_view method) {
    for (const auto& route : other.routes_) {
        if (route.method != method) continue;
        add(route.method, std::string(mount) + route.route_template, route.handler);
    }
    // Any other path under the mount is the mounted API's: 404, and 405 for other methods.
    add(method, std::string(mount) + "/{path*}", [](Request&) -> boost::asio::awaitable<Reply> {
        co_return plain_error(404, "404: Not Found");
    });
}

void Router::set_fallback(std::string_view method, std::string_view route_name, Handler handler) {
    fallback_ = Route{std::string(method), std::string(route_name), {}, std::move(handler)};
}

bool Router::matches(const Route& route, const std::vector<std::string_view>& segments,
                     Fields* params) const {
    // A last parameter `{name*}` takes the rest of the path, one segment or more.
    const bool takes_rest = !route.segments.empty() && is_rest(route.segments.back());
    if (takes_rest ? segments.size() < route.segments.size()
                   : route.segments.size() != segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < route.segments.size(); ++i) {
        const auto& expected = route.segments[i];
        if (is_parameter(expected)) {
            if (segments[i].empty()) return false;
        } else if (expected != segments[i]) {
            return false;
        }
    }
    if (!params) return true;
    params->clear();
    for (std::size_t i = 0; i < route.segments.size(); ++i) {
        const auto& expected = route.segments[i];
        if (!is_parameter(expected)) continue;
        const bool rest = takes_rest && i + 1 == route.segments.size();
        std::string value;
        for (std::size_t j = i; j < (rest ? segments.size() : i + 1); ++j) {
            auto decoded = percent_decode(segments[j], false);
            if (!decoded) return false;
            if (j > i) value += '/';
            value += *decoded;
        }
        auto name = std::string_view(expected).substr(1, expected.size() - (rest ? 3 : 2));
        params->emplace_back(name, std::move(value));
    }
    return true;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
    Match result;
    result.fallback = plain_error(404, "404: Not Found");
    if (!prefix_.empty()) {
        if (path.substr(0, prefix_.size()) != prefix_) return result;
        path.remove_prefix(prefix_.size());
    }
    auto segments = split_path(path);
    std::string allowed;
    std::set<std::string_view> allowed_methods;
    for (const auto& route : routes_) {
        if (!matches(route, segments, nullptr)) continue;
        if (route.method == method) {
            if (!matches(route, segments, &result.params)) {
                result.fallback = plain_error(400, "\"malformed percent-encoding in path\"");
                return result;
            }
            result.handler = &route.handler;
            result.route = route.route_template;
            return result;
        }
        // A method may match twice: through a route and through a catch-all of the same method.
        if (allowed_methods.insert(route.method).second) {
            if (!allowed.empty()) allowed += ',';
            allowed += route.method;
        }
    }
    if (allowed.empty() && fallback_) {
        if (fallback_->method == method) {
            result.handler = &fallback_->handler;
            result.route = fallback_->route_template;
            return result;
        }
        allowed = fallback_->method;
    }
    if (!allowed.empty()) {
        result.fallback = plain_error(405, "405: Method Not Allowed");
        result.fallback.headers.emplace_back("Allow", std::move(allowed));
    }
    return result;
}

}  // namespace mf::http
