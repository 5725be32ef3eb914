#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "http/router.hpp"
#include "store/ui_reader.hpp"
#include "ui/database_routes.hpp"
#include "ui/envelope.hpp"
#include "ui/list_query.hpp"

// What the routes of each resource share: a request's scope, and the list and single
// replies over the UI reader.
namespace mf::ui {

UiScope scope_of(const http::Request& request);
UiStatusClock status_clock(const DatabaseContext& context);

// How a route adjusts the request's grammar.
struct ListRules {
    std::vector<UiOrder> default_order;  // when the client gives none
    bool fixed_order = false;            // the default order, whatever the client asks
    std::vector<Filter> more_filters;    // AND-ed with the client's
};

// A list with the request's grammar.
boost::asio::awaitable<http::Reply> list_rows(const DatabaseContext& context,
                                              const http::Request& request, UiResource resource,
                                              ListRules rules = {});
// The first row of `query` (its scope and order set by the caller), or 404.
boost::asio::awaitable<http::Reply> single_row(const DatabaseContext& context,
                                               const http::Request& request, UiListQuery query);
// The distinct values of `column`, filtered by the request's grammar on that column only.
boost::asio::awaitable<http::Reply> distinct_values(const DatabaseContext& context,
                                                    const http::Request& request,
                                                    UiResource resource, std::string column);

// The GET routes that list or show the rows of one resource. Their paths are also the ones a
// websocket subscribes to (docs/ui.md#realtime): the UI listener and the realtime hub both take
// them from here, so that what can be read and what can be watched never differ.
class ResourceRoutes {
public:
    void add(std::string_view route_template, UiResource resource, http::Handler handler);
    // Registers every route with `router`, in the order added.
    void add_to(http::Router& router) const;
    // The resource a GET of `path` (still percent-encoded, without its query) reads; nullopt
    // when no route here takes it.
    std::optional<UiResource> resource_of(std::string_view path) const;

private:
    struct Route {
        std::string route_template;
        UiResource resource;
        http::Handler handler;
    };
    std::vector<Route> routes_;
    http::Router matcher_;  // the same routes, matched as the UI listener matches them
};

// The routes of flows, runs, steps, tasks and their attempts, metadata and artifact listings.
ResourceRoutes resource_routes(const DatabaseContext& context);

void add_flow_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_run_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_step_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_task_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_metadata_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_artifact_routes(ResourceRoutes& routes, const DatabaseContext& context);
void add_tag_routes(http::Router& router, const DatabaseContext& context);
void add_autocomplete_routes(http::Router& router, const DatabaseContext& context);
void add_dag_routes(http::Router& router, const DatabaseContext& context);
void add_parameter_routes(http::Router& router, const DatabaseContext& context);
void add_log_routes(http::Router& router, const DatabaseContext& context);
void add_card_routes(http::Router& router, const DatabaseContext& context);

}  // namespace mf::ui
