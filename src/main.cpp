#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <iostream>

#include "api/version.hpp"
#include "app/service.hpp"
#include "config/config.hpp"
#include "model/clock.hpp"

namespace {

void set_log_level(std::string level) {
    std::transform(level.begin(), level.end(), level.begin(), ::tolower);
    if (level == "warning") level = "warn";
    if (level == "error") level = "err";
    spdlog::set_level(spdlog::level::from_str(level));
}

int serve(mf::ServeConfig config) {
    set_log_level(config.log_level);
    // Signals are taken by sigwait below, not by a handler, so every thread blocks them.
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    mf::SystemClock clock;
    mf::Service service(std::move(config), clock);
    service.start();
    while (true) {
        int signal = 0;
        sigwait(&signals, &signal);
        if (signal == SIGHUP) {
            service.reload_keys();
            continue;
        }
        spdlog::info("received signal {}, finishing in-flight requests", signal);
        break;
    }
    service.stop();
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

    mf::ServeConfig shown;
    auto* config_command = app.add_subcommand(
        "config",
        "Print the effective configuration of `serve` with these options, secrets masked");
    mf::add_serve_options(*config_command, shown);

    app.add_subcommand("version", "Print the version")->callback([] {
        std::cout << "metadata-service " << MF_VERSION << " (compatible with "
                  << mf::api::kCompatibleVersion << ")\n";
    });

    CLI11_PARSE(app, argc, argv);
    if (config_command->parsed()) {
        std::cout << mf::describe(shown);
        return 0;
    }
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
