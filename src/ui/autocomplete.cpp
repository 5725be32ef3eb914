#include <algorithm>
#include <regex>

#include "model/text.hpp"
#include "ui/resource_routes.hpp"

namespace mf::ui {
namespace {

// One tag:<op>=<term> condition: eq, ne, co, sw, ew, re (a regular expression matching at
// the tag's start) and the numeric lt, le, gt, ge. An unknown operator keeps every tag.
bool tag_matches(const std::string& tag, std::string_view op, const std::string& term) {
    if (op == "eq") return tag == term;
    if (op == "ne") return tag != term;
    if (op == "co") return tag.find(term) != std::string::npos;
    if (op == "sw") return tag.starts_with(term);
    if (op == "ew") return tag.ends_with(term);
    if (op == "re") {
        try {
            return std::regex_search(tag, std::regex(term), std::regex_constants::match_continuous);
        } catch (const std::regex_error&) {
            return false;
        }
    }
    if (op == "lt" || op == "le" || op == "gt" || op == "ge") {
        auto a = parse_number<double>(tag);
        auto b = parse_number<double>(term);
        if (!a || !b) return false;
        if (op == "lt") return *a < *b;
        if (op == "le") return *a <= *b;
        if (op == "gt") return *a > *b;
        return *a >= *b;
    }
    return true;
}

// Tags, sorted, filtered by their own terms (the reference takes the value of the query's
// last parameter for every condition, so `?tag:co=acc&_limit=5` would look for "5").
boost::asio::awaitable<http::Reply> tag_autocomplete(const DatabaseContext& context,
                                                     const http::Request& request) {
    auto paging = read_paging(request);
    if (!paging) {
        co_return list_error_reply(request, LinkBase{context.base_url}, Paging{}, 500,
                                   paging.error().message);
    }
    auto tags = co_await context.reader.ui_run_tags();
    if (!tags) {
        co_return list_error_reply(request, LinkBase{context.base_url}, *paging, 500,
                                   "the database could not answer");
    }
    std::sort(tags->begin(), tags->end());
    std::vector<std::string> matching;
    for (auto& tag : *tags) {
        bool keep = true;
        for (const auto& [key, term] : request.query) {
            if (key != "tag" && !key.starts_with("tag:")) continue;
            const std::string_view op =
                key == "tag" ? std::string_view("eq") : std::string_view(key).substr(4);
            keep = keep && tag_matches(tag, op, term);
        }
        if (keep) matching.push_back(std::move(tag));
    }
    std::vector<std::string> page;
    const auto begin = static_cast<std::size_t>(paging->limit * (paging->page - 1));
    for (std::size_t i = begin; i < matching.size(); ++i) {
        if (paging->limit > 0 && page.size() >= static_cast<std::size_t>(paging->limit)) break;
        page.push_back(matching[i]);
    }
    co_return strings_reply(request, LinkBase{context.base_url}, *paging, page);
}

}  // namespace

void add_autocomplete_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/tags/autocomplete",
               [&context](http::Request& request) { return tag_autocomplete(context, request); });
    router.add("GET", "/flows/autocomplete", [&context](http::Request& request) {
        return distinct_values(context, request, UiResource::flows, "flow_id");
    });
    router.add("GET", "/flows/{flow_id}/runs/autocomplete", [&context](http::Request& request) {
        return distinct_values(context, request, UiResource::runs, "run");
    });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/steps/autocomplete",
               [&context](http::Request& request) {
                   return distinct_values(context, request, UiResource::steps, "step_name");
               });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/artifacts/autocomplete",
               [&context](http::Request& request) {
                   return distinct_values(context, request, UiResource::artifacts, "name");
               });
}

}  // namespace mf::ui
