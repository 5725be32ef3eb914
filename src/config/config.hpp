#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "http/server.hpp"

namespace mf {

// Who may call the service, and how (issue: secure by default).
struct SecurityConfig {
    std::string api_keys_file;             // NAME:KEY lines, reread on SIGHUP
    std::string api_keys;                  // the same format inline (environment)
    std::vector<std::string> allow_cidrs;  // API listener; empty: every address
    std::vector<std::string> migration_allow_cidrs;
    std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For counts
    std::string tls_cert;
    std::string tls_key;
    std::uint16_t tls_port = 0;      // 0: with a certificate, the API port speaks TLS only
    std::uint16_t metrics_port = 0;  // 0: /metrics on the API port, behind the keys
    double rate_limit = 0;           // requests a second per key or address; 0: off
    double rate_burst = 0;           // 0: twice the rate
};

// The web UI's listener: the UI's API, the metadata API read-only under /metadata and the
// static UI, on the API's worker threads.
struct UiConfig {
    std::uint16_t port = 8083;  // 0: no UI listener
    std::string host;           // empty: the API's host
    std::string static_dir;     // a metaflow-ui build; empty: `/` says how to point at one
    std::vector<std::string> allow_cidrs;  // empty: every address
    std::string plugins_dir;               // UI plugins, one folder each; empty: none
};

// Everything `serve` can be told, from flags, the environment variables of the reference
// service (README.md#running), or a config file (--config, TOML or INI with the flags' long names).
struct ServeConfig {
    http::ServerOptions server;
    std::string database = "sqlite:./metaflow-metadata.db";
    std::string path_prefix;
    std::string log_level = "info";
    SecurityConfig security;
    UiConfig ui;
    // PostgreSQL: apply pending migrations to a database at an older version.
    bool migrate = false;
    // The migration API's listener (docs/api.md#migration-api), run beside the API with a
    // PostgreSQL store; 0 picks a free port.
    std::uint16_t migration_port = 8082;
    int migration_endpoints_enabled = 1;  // 0 leaves PATCH /upgrade out
    // PostgreSQL: seconds a statement may run (statement_timeout) before it is cancelled and
    // its request answered 503; 0 leaves the server's setting.
    double db_statement_timeout = 30;
};

void add_serve_options(CLI::App& command, ServeConfig& config);

// The effective configuration, one `name = value` line each, secrets masked.
std::string describe(const ServeConfig& config);

// `text` with any password in a database URL or key list replaced by "****".
std::string mask_secrets(std::string_view text);

}  // namespace mf
