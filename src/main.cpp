#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>

#include "api/routes.hpp"
#include "api/version.hpp"
#include "config/config.hpp"
#include "http/server.hpp"
#include "model/clock.hpp"
#include "store/open.hpp"

namespace {

void set_log_level(std::string level) {
    std::transform(level.begin(), level.end(), level.begin(), ::tolower);
    if (level == "warning") level = "warn";
    if (level == "error" || level == "critical") level = level == "error" ? "err" : "critical";
    spdlog::set_level(spdlog::level::from_str(level));
}

int serve(mf::ServeConfig config) {
    set_log_level(config.log_level);
    // Signals are taken by sigwait below, not by a handler, so every thread blocks them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    mf::SystemClock clock;
    auto store = mf::open_store(config.database, clock);
    mf::api::Context context{*store, clock};
    mf::http::Router router(config.path_prefix);
    mf::api::add_routes(router, context);
    config.server.service_version = mf::api::kCompatibleVersion;
    mf::http::Server server(config.server, router);
    server.start();
    spdlog::info("serving on ({}, {}) with database {}", config.server.host, server.port(),
                 config.database);

    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("received signal {}, finishing in-flight requests", signal);
    server.stop();
    store.reset();
    spdlog::info("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Metaflow metadata service, compatible with the Metaflow client"};
    app.require_subcommand(1);

    mf::ServeConfig config;
    auto* serve_command = app.add_subcommand("serve", "Serve the metadata API");
    mf::add_serve_options(*serve_command, config);

    app.add_subcommand("version", "Print the version")->callback([] {
        std::cout << "metadata-service " << MF_VERSION << " (compatible with "
                  << mf::api::kCompatibleVersion << ")\n";
    });

    CLI11_PARSE(app, argc, argv);
    if (serve_command->parsed()) {
        try {
            return serve(std::move(config));
        } catch (const std::exception& e) {
            spdlog::critical("{}", e.what());
            return 1;
        }
    }
    return 0;
}
