#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "http/server.hpp"

namespace mf {

// Everything `serve` can be told, from flags or the environment variables of the
// reference service (spec 10).
struct ServeConfig {
    http::ServerOptions server;
    std::string database = "sqlite:./metaflow-metadata.db";
    std::string path_prefix;
    std::string log_level = "info";
};

void add_serve_options(CLI::App& command, ServeConfig& config);

}  // namespace mf
