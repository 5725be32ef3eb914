#include "app/service.hpp"

#include <spdlog/spdlog.h>

#include "api/migration.hpp"
#include "api/routes.hpp"
#include "api/version.hpp"
#include "http/server.hpp"
#include "realtime/hub.hpp"
#include "store/open.hpp"
#include "ui/database_routes.hpp"
#include "ui/prefetch.hpp"
#include "ui/realtime_route.hpp"
#include "ui/routes.hpp"
#include "ui/search.hpp"
#include "ui/settings.hpp"
#include "ui/storage.hpp"

namespace mf {

struct Service::Impl {
    ServeConfig config;
    const Clock& clock;
    std::unique_ptr<Store> store;
    std::unique_ptr<api::Context> context;
    std::shared_ptr<http::KeyRing> keys;
    std::shared_ptr<http::Metrics> metrics = std::make_shared<http::Metrics>(MF_VERSION);
    http::Router api_router;
    http::Router metrics_router;
    std::unique_ptr<http::Server> api;
    std::unique_ptr<http::Server> metrics_server;
    std::unique_ptr<http::Server> tls;       // beside a plain API listener, with --tls-port
    std::unique_ptr<Migrations> migrations;  // null for SQLite
    api::MigrationContext migration_context;
    http::Router migration_router;
    std::unique_ptr<http::Server> migration_server;
    // The UI listener runs on the API server's workers, whose event loops the store serves.
    ui::Settings ui_settings;
    std::unique_ptr<ui::Plugins> ui_plugins;
    std::unique_ptr<ui::StaticBundle> ui_bundle;
    std::unique_ptr<ui::Context> ui_context;
    ui::Storage ui_storage;
    std::unique_ptr<ui::DatabaseContext> ui_database;
    std::unique_ptr<realtime::Hub> hub;  // the UI's websockets
    std::unique_ptr<ui::Prefetcher> ui_prefetcher;
    http::Router ui_router;
    std::optional<std::size_t> ui_listener;

    Impl(ServeConfig c, const Clock& k)
        : config(std::move(c)),
          clock(k),
          api_router(config.path_prefix),
          ui_router(config.path_prefix) {}

    bool draining() const { return api && api->draining(); }

    http::AccessPolicy api_policy() const {
        const auto& security = config.security;
        http::AccessPolicy policy;
        policy.allow = http::CidrList(security.allow_cidrs);
        policy.trusted_proxies = http::CidrList(security.trusted_proxies);
        policy.keys = keys;
        if (security.rate_limit > 0) {
            double burst = security.rate_burst > 0 ? security.rate_burst : 2 * security.rate_limit;
            policy.rate_limit = std::make_shared<http::RateLimiter>(security.rate_limit, burst);
        }
        return policy;
    }

    // The UI's routes, the metadata API's reads under /metadata, and the static UI.
    void build_ui_routes() {
        const auto& ui = config.ui;
        ui_settings = ui::settings_from_environment(config.path_prefix);
        if (!ui.static_dir.empty()) {
            ui_bundle = std::make_unique<ui::StaticBundle>(ui.static_dir, ui_settings.page);
            spdlog::info("UI: serving the build in {} ({} files)", ui.static_dir,
                         ui_bundle->file_count());
        }
        ui_plugins = std::make_unique<ui::Plugins>(ui.plugins_dir);
        ui_context = std::make_unique<ui::Context>(
            ui::Context{*store, clock, ui_settings, *ui_plugins, [this] { return draining(); }});
        ui_storage = ui::storage_from_environment();
        if (ui_storage.reader) {
            spdlog::info("UI: reading the flows' datastore at {}", ui_storage.reader->root_url());
        } else {
            spdlog::warn("UI: logs, DAGs, parameters, values and cards are off: {}",
                         ui_storage.missing);
        }
        ui_database = std::make_unique<ui::DatabaseContext>(ui::DatabaseContext{
            store->ui_reader(), clock, ui::status_thresholds_from_environment(),
            ui::base_url_from_environment(), ui_storage.reader.get(), ui_storage.missing});
        ui::add_database_routes(ui_router, *ui_database);
        hub = std::make_unique<realtime::Hub>(
            ui::realtime_context(*ui_database),
            ui::realtime_options_from_environment(ui_database->thresholds));
        ui::add_realtime_route(ui_router, *hub);
        ui::add_search_routes(ui_router, *ui_database);
        add_realtime_metrics();
        if (ui_storage.reader) {
            ui_prefetcher = std::make_unique<ui::Prefetcher>(
                *ui_database, ui::prefetch_settings_from_environment());
            metrics->add_collector([prefetcher = ui_prefetcher.get()] {
                return http::metric_family(
                    "mf_ui_prefetch_passes_total", "counter",
                    "Completed passes reading recent runs' DAGs and parameters into the caches.",
                    {{"", static_cast<double>(prefetcher->passes())}});
            });
        }
        ui::add_routes(ui_router, *ui_context);
        ui_router.add_routes_of(api_router, "/metadata", "GET");
        ui::add_static_routes(ui_router, ui_bundle.get(), config.path_prefix);
    }

    // The UI listener's options: the API's limits, timeouts, metrics and TLS, its own
    // address and networks; keys also by HTTP Basic, for browsers.
    http::ServerOptions ui_options() const {
        auto options = config.server;
        if (!config.ui.host.empty()) options.host = config.ui.host;
        options.port = config.ui.port;
        options.name = "ui";
        options.access = api_policy();
        options.access.allow = http::CidrList(config.ui.allow_cidrs);
        options.access.basic_auth = true;
        return options;
    }

    // The reference's migration service, on its own port, for a store that has migrations.
    void build_migration_api() {
        migrations = open_migrations(config.database);
        if (!migrations) return;
        migration_context =
            api::MigrationContext{migrations.get(), config.migration_endpoints_enabled != 0};
        api::add_migration_routes(migration_router, migration_context);
        auto options = config.server;
        options.port = config.migration_port;
        options.access = http::AccessPolicy{};
        options.access.allow = http::CidrList(config.security.migration_allow_cidrs);
        options.name = "migration";
        migration_server = std::make_unique<http::Server>(options, migration_router);
    }

    // The store's connection pool and database errors, for a store that has them.
    void add_store_metrics() {
        metrics->add_collector([store = store.get()] {
            std::string out;
            if (auto pool = store->pool_gauges()) {
                const auto gauge = [&](std::string_view name, std::string_view help,
                                       std::size_t value) {
                    out += http::metric_family(name, "gauge", help,
                                               {{"", static_cast<double>(value)}});
                };
                gauge("mf_db_pool_connections_open",
                      "Database connections open (idle or in use) or opening.", pool->open);
                gauge("mf_db_pool_connections_idle", "Open database connections not in use.",
                      pool->idle);
                gauge("mf_db_pool_requests_waiting", "Requests waiting for a database connection.",
                      pool->waiting);
            }
            if (auto errors = store->database_errors()) {
                out += http::metric_family(
                    "mf_db_errors_total", "counter",
                    "Failed database calls, by kind (failures clients cause are not counted).",
                    {{R"(kind="unavailable")", static_cast<double>(errors->unavailable)},
                     {R"(kind="timeout")", static_cast<double>(errors->timeout)},
                     {R"(kind="other")", static_cast<double>(errors->other)}});
                out += http::metric_family(
                    "mf_db_transactions_retried_total", "counter",
                    "Transactions the database rolled back to break a deadlock or a "
                    "serialization conflict, each run again.",
                    {{R"(reason="deadlock")", static_cast<double>(errors->deadlocks_retried)},
                     {R"(reason="serialization_failure")",
                      static_cast<double>(errors->serialization_failures_retried)}});
            }
            return out;
        });
    }

    // The websockets' gauges, counters and latency histogram.
    void add_realtime_metrics() {
        metrics->add_collector([hub = hub.get()] {
            const auto stats = hub->stats();
            std::string out = http::metric_family("mf_ws_connections", "gauge",
                                                  "Open websockets of the UI's realtime updates.",
                                                  {{"", static_cast<double>(stats.connections)}});
            out += http::metric_family("mf_ws_events_total", "counter",
                                       "Changed objects pushed to websocket subscriptions.",
                                       {{"", static_cast<double>(stats.events)}});
            out += http::metric_family("mf_ws_dropped_total", "counter",
                                       "Websockets dropped because they read too slowly.",
                                       {{"", static_cast<double>(stats.dropped)}});
            std::vector<std::pair<std::string, double>> buckets;
            for (std::size_t i = 0; i < stats.latency_buckets.size(); ++i) {
                buckets.emplace_back(
                    fmt::format("le=\"{}\"", realtime::HubStats::kLatencyBuckets[i]),
                    static_cast<double>(stats.latency_buckets[i]));
            }
            buckets.emplace_back("le=\"+Inf\"", static_cast<double>(stats.latency_count));
            out += http::metric_family(
                "mf_ws_event_to_frame_seconds", "histogram",
                "Seconds from a committed change reaching the service to its frame written.", {});
            for (const auto& [labels, value] : buckets)
                out += fmt::format("mf_ws_event_to_frame_seconds_bucket{{{}}} {}\n", labels, value);
            out += fmt::format("mf_ws_event_to_frame_seconds_sum {}\n", stats.latency_sum);
            out += fmt::format("mf_ws_event_to_frame_seconds_count {}\n", stats.latency_count);
            return out;
        });
    }

    void build() {
        const std::chrono::milliseconds statement_timeout(
            static_cast<std::int64_t>(config.db_statement_timeout * 1000));
        store = open_store(
            config.database, clock,
            StoreOpenOptions{.migrate = config.migrate, .statement_timeout = statement_timeout});
        build_migration_api();
        add_store_metrics();
        context = std::make_unique<api::Context>(
            api::Context{*store, clock, [this] { return draining(); }});
        const auto& security = config.security;
        if (!security.api_keys_file.empty() || !security.api_keys.empty()) {
            std::optional<std::string> file;
            if (!security.api_keys_file.empty()) file = security.api_keys_file;
            keys = std::make_shared<http::KeyRing>(file, security.api_keys);
        }
        if (!keys || keys->empty()) {
            spdlog::warn(
                "NO API KEYS ARE CONFIGURED: anyone who can reach this service can read and "
                "change every flow. Set --api-keys-file (or MF_METADATA_API_KEYS) unless a "
                "gateway in front of the service checks keys.");
        }
        api::add_routes(api_router, *context);
        if (config.ui.port) build_ui_routes();
        auto& metrics_routes = security.metrics_port ? metrics_router : api_router;
        metrics_routes.add("GET", "/metrics", http::metrics_handler(metrics));

        config.server.service_version = api::kCompatibleVersion;
        config.server.metrics = metrics;
        config.server.access = api_policy();
        config.server.name = "api";
        if (!security.tls_cert.empty()) {
            auto context = http::make_tls_context(security.tls_cert, security.tls_key);
            if (security.tls_port) {
                auto options = config.server;
                options.port = security.tls_port;
                options.tls = context;
                options.name = "api-tls";
                tls = std::make_unique<http::Server>(options, api_router);
            } else {
                config.server.tls = context;
            }
        }
        api = std::make_unique<http::Server>(config.server, api_router);
        if (config.ui.port) ui_listener = api->add_listener(ui_options(), ui_router);
        if (security.metrics_port) {
            auto options = config.server;
            options.port = security.metrics_port;
            options.access = http::AccessPolicy{};
            options.access.allow = http::CidrList(security.allow_cidrs);
            options.name = "metrics";
            options.metrics = nullptr;
            metrics_server = std::make_unique<http::Server>(options, metrics_router);
        }
    }
};

Service::Service(ServeConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {
    impl_->build();
}

Service::~Service() {
    stop();
}

void Service::start() {
    impl_->api->start();
    impl_->store->warm_up(impl_->api->executors());
    if (impl_->hub) {
        impl_->store->watch_changes(impl_->hub->sink());
        impl_->hub->start();
        impl_->store->warm_up({impl_->hub->executor()});
    }
    if (impl_->ui_prefetcher) impl_->ui_prefetcher->start(impl_->api->executors().front());
    if (impl_->tls) impl_->tls->start();
    if (impl_->metrics_server) impl_->metrics_server->start();
    if (impl_->migration_server) impl_->migration_server->start();
    spdlog::info("serving on ({}, {}) with database {}", impl_->config.server.host, api_port(),
                 mask_secrets(impl_->config.database));
    if (impl_->ui_listener) {
        const auto& ui = impl_->config.ui;
        spdlog::info("serving the UI on ({}, {})",
                     ui.host.empty() ? impl_->config.server.host : ui.host, ui_port());
    }
}

void Service::stop() {
    if (!impl_->api) return;
    // Websockets last until their clients leave: closed first, so that the drain ends.
    if (impl_->hub) impl_->hub->stop();
    if (impl_->ui_prefetcher) impl_->ui_prefetcher->stop();
    impl_->api->stop();
    if (impl_->tls) impl_->tls->stop();
    if (impl_->metrics_server) impl_->metrics_server->stop();
    if (impl_->migration_server) impl_->migration_server->stop();
}

void Service::reload_keys() {
    if (!impl_->keys) {
        spdlog::info("SIGHUP: no API key file to reload");
        return;
    }
    try {
        impl_->keys->reload();
        spdlog::info("API keys reloaded");
    } catch (const std::exception& e) {
        spdlog::error("API keys not reloaded, keeping the previous ones: {}", e.what());
    }
}

std::uint16_t Service::api_port() const {
    return impl_->api->port();
}
std::uint16_t Service::ui_port() const {
    return impl_->ui_listener ? impl_->api->port(*impl_->ui_listener) : 0;
}
std::uint16_t Service::tls_port() const {
    return impl_->tls ? impl_->tls->port() : 0;
}
std::uint16_t Service::metrics_port() const {
    return impl_->metrics_server ? impl_->metrics_server->port() : 0;
}
std::uint16_t Service::migration_port() const {
    return impl_->migration_server ? impl_->migration_server->port() : 0;
}
Store& Service::store() {
    return *impl_->store;
}

}  // namespace mf
