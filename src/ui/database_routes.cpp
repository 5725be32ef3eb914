#include "ui/database_routes.hpp"

#include <cstdlib>
#include <string_view>

#include "model/text.hpp"
#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {
namespace {

LinkBase link_base(const DatabaseContext& context) {
    return LinkBase{context.base_url};
}

http::Reply error_reply(const http::Request& request, const DatabaseContext& context,
                        const Paging& paging, const Error& error) {
    // The reference answers a database error, e.g. a filter value of the wrong type, with
    // 500 and the reason as the data; an unreachable database is the service's 503.
    const unsigned status = error.kind == ErrorKind::unavailable ? 503 : 500;
    const std::string reason =
        error.kind == ErrorKind::invalid ? error.message : "the database could not answer";
    return list_error_reply(request, link_base(context), paging, status, reason);
}

}  // namespace

std::int64_t number_from_environment(const char* name, std::int64_t fallback) {
    const char* text = std::getenv(name);
    if (!text) return fallback;
    const auto value = parse_number<std::int64_t>(text);
    return value && *value >= 0 ? *value : fallback;
}

StatusThresholds status_thresholds_from_environment() {
    const StatusThresholds defaults;
    return StatusThresholds{
        .heartbeat_threshold_s =
            number_from_environment("HEARTBEAT_THRESHOLD", defaults.heartbeat_threshold_s),
        .run_inactive_cutoff_s =
            number_from_environment("RUN_INACTIVE_CUTOFF_TIME", defaults.run_inactive_cutoff_s),
        .old_run_failure_cutoff_ms = number_from_environment("OLD_RUN_FAILURE_CUTOFF_TIME",
                                                             defaults.old_run_failure_cutoff_ms),
    };
}

std::optional<std::string> base_url_from_environment() {
    const char* url = std::getenv("MF_BASEURL");
    if (!url || !*url) return std::nullopt;
    return std::string(url);
}

UiScope scope_of(const http::Request& request) {
    UiScope scope;
    for (const auto& [name, value] : request.path_params) {
        if (name == "flow_id") scope.flow_id = value;
        if (name == "run_number") scope.run = ObjectKey::parse(value);
        if (name == "step_name") scope.step_name = value;
        if (name == "task_id") scope.task = ObjectKey::parse(value);
    }
    return scope;
}

UiStatusClock status_clock(const DatabaseContext& context) {
    return UiStatusClock{
        .now_ms = context.clock.now_ms(),
        .heartbeat_threshold_s = context.thresholds.heartbeat_threshold_s,
        .run_inactive_cutoff_s = context.thresholds.run_inactive_cutoff_s,
        .old_run_failure_cutoff_ms = context.thresholds.old_run_failure_cutoff_ms,
    };
}

namespace {

// The request's scope, clock and list grammar for `resource`.
Result<UiListQuery> request_query(const DatabaseContext& context, const http::Request& request,
                                  UiResource resource) {
    UiListQuery query;
    query.resource = resource;
    query.scope = scope_of(request);
    query.clock = status_clock(context);
    if (auto ok = read_list_query(request, query); !ok) return ok.take_error();
    return query;
}

}  // namespace

boost::asio::awaitable<http::Reply> list_rows(const DatabaseContext& context,
                                              const http::Request& request, UiResource resource,
                                              ListRules rules) {
    auto paging = read_paging(request);
    if (!paging) co_return error_reply(request, context, Paging{}, paging.error());
    auto query = request_query(context, request, resource);
    if (!query) co_return error_reply(request, context, *paging, query.error());
    if (rules.fixed_order || query->order.empty()) query->order = std::move(rules.default_order);
    for (auto& filter : rules.more_filters) query->filters.push_back(std::move(filter));
    auto rows = co_await context.reader.ui_list(*query);
    if (!rows) co_return error_reply(request, context, *paging, rows.error());
    std::vector<std::string> additions;
    if (postprocess_requested(request))
        additions = co_await postprocess_rows(context, resource, *rows);
    co_return rows_reply(request, link_base(context), *paging, resource, *rows, additions);
}

boost::asio::awaitable<http::Reply> single_row(const DatabaseContext& context,
                                               const http::Request& request, UiListQuery query) {
    query.clock = status_clock(context);
    query.limit = 1;
    auto rows = co_await context.reader.ui_list(query);
    if (!rows) co_return error_reply(request, context, Paging{}, rows.error());
    std::vector<std::string> additions;
    if (postprocess_requested(request) && !rows->empty())
        additions = co_await postprocess_rows(context, query.resource, *rows);
    co_return single_reply(request, link_base(context), query.resource, *rows,
                           additions.empty() ? std::string() : additions.front());
}

boost::asio::awaitable<http::Reply> distinct_values(const DatabaseContext& context,
                                                    const http::Request& request,
                                                    UiResource resource, std::string column) {
    auto paging = read_paging(request);
    if (!paging) co_return error_reply(request, context, Paging{}, paging.error());
    auto read = request_query(context, request, resource);
    if (!read) co_return error_reply(request, context, *paging, read.error());
    UiListQuery query = std::move(read).value();
    std::erase_if(query.filters, [&](const Filter& filter) { return filter.field != column; });
    query.tag_filters.clear();
    query.order.clear();
    query.group.clear();
    query.distinct_column = std::move(column);
    auto rows = co_await context.reader.ui_list(query);
    if (!rows) co_return error_reply(request, context, *paging, rows.error());
    std::vector<std::string> values;
    for (auto& row : *rows) {
        if (!row.empty() && row.front()) values.push_back(std::move(*row.front()));
    }
    co_return strings_reply(request, link_base(context), *paging, values);
}

void ResourceRoutes::add(std::string_view route_template, UiResource resource,
                         http::Handler handler) {
    matcher_.add("GET", route_template, handler);
    routes_.push_back({std::string(route_template), resource, std::move(handler)});
}

void ResourceRoutes::add_to(http::Router& router) const {
    for (const auto& route : routes_) router.add("GET", route.route_template, route.handler);
}

std::optional<UiResource> ResourceRoutes::resource_of(std::string_view path) const {
    const auto match = matcher_.match("GET", path);
    if (!match.handler) return std::nullopt;
    for (const auto& route : routes_) {
        if (route.route_template == match.route) return route.resource;
    }
    return std::nullopt;
}

ResourceRoutes resource_routes(const DatabaseContext& context) {
    ResourceRoutes routes;
    add_flow_routes(routes, context);
    add_run_routes(routes, context);
    add_step_routes(routes, context);
    add_task_routes(routes, context);
    add_metadata_routes(routes, context);
    add_artifact_routes(routes, context);
    return routes;
}

void add_database_routes(http::Router& router, const DatabaseContext& context) {
    add_autocomplete_routes(router, context);
    resource_routes(context).add_to(router);
    add_tag_routes(router, context);
    add_dag_routes(router, context);
    add_parameter_routes(router, context);
    add_log_routes(router, context);
    add_card_routes(router, context);
}

}  // namespace mf::ui
