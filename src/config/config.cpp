#include "config/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "model/text.hpp"

namespace mf {
namespace {

void add_ui_options(CLI::App& command, UiConfig& ui) {
    command.add_option("--ui-port", ui.port, "Port of the web UI and its API (0: off)")
        ->envname("MF_UI_METADATA_PORT")
        ->capture_default_str();
    command.add_option("--ui-host", ui.host, "Address the UI listens on (default: --host)")
        ->envname("MF_UI_METADATA_HOST");
    command
        .add_option("--ui-dir", ui.static_dir,
                    "Folder of a metaflow-ui build to serve (default: a page saying how)")
        ->envname("MF_UI_STATIC_DIR")
        ->check(CLI::ExistingDirectory);
    command
        .add_option("--ui-allow-cidr", ui.allow_cidrs,
                    "Only these networks may use the UI (repeatable; default: any)")
        ->envname("MF_UI_ALLOW_CIDRS")
        ->delimiter(',');
    command
        .add_option("--ui-plugins-dir", ui.plugins_dir,
                    "Folder of UI plugins, one folder each with its manifest.json (default: none)")
        ->envname("MF_UI_PLUGINS_DIR")
        ->check(CLI::ExistingDirectory);
}

}  // namespace

void add_serve_options(CLI::App& command, ServeConfig& config) {
    command.set_config("--config", "", "Read options from this file (TOML or INI)");
    command.add_option("--host", config.server.host, "Address to listen on")
        ->envname("MF_METADATA_HOST")
        ->capture_default_str();
    command.add_option("--port", config.server.port, "Port of the metadata API")
        ->envname("MF_METADATA_PORT")
        ->capture_default_str();
    command
        .add_option("--database", config.database,
                    "Database URL: sqlite:PATH or postgresql://user:password@host:port/name")
        ->envname("MF_METADATA_DATABASE_URL")
        ->capture_default_str();
    command.add_flag("--migrate", config.migrate,
                     "Apply pending schema migrations to a PostgreSQL database at an older "
                     "version (an empty one is always migrated)");
    command
        .add_option("--migration-port", config.migration_port,
                    "Port of the migration API (PostgreSQL only)")
        ->envname("MF_MIGRATION_PORT")
        ->capture_default_str();
    command
        .add_option("--migration-endpoints-enabled", config.migration_endpoints_enabled,
                    "0 leaves PATCH /upgrade out of the migration API")
        ->envname("MF_MIGRATION_ENDPOINTS_ENABLED")
        ->capture_default_str();
    command
        .add_option("--db-statement-timeout", config.db_statement_timeout,
                    "PostgreSQL: seconds a statement may run (e.g. waiting for a lock) before it "
                    "is cancelled and answered 503; 0 leaves the server's statement_timeout")
        ->envname("MF_METADATA_DB_STATEMENT_TIMEOUT")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    command.add_option("--threads", config.server.threads, "Worker threads (0: one per core)")
        ->capture_default_str();
    command
        .add_option("--log-level", config.log_level,
                    "trace, debug, info, warning, error or critical")
        ->envname("LOGLEVEL")
        ->capture_default_str();
    command.add_option("--path-prefix", config.path_prefix, "Serve the API under this path")
        ->envname("PATH_PREFIX");
    command
        .add_option("--max-body-bytes", config.server.body_limit,
                    "Largest request body accepted (then 413)")
        ->envname("MF_METADATA_MAX_BODY_BYTES")
        ->capture_default_str();
    command
        .add_option("--max-connections", config.server.max_connections,
                    "Open connections accepted at once; more are closed")
        ->envname("MF_METADATA_MAX_CONNECTIONS")
        ->capture_default_str();
    command
        .add_option("--request-timeout", config.server.header_timeout,
                    "Seconds a client may take to send a whole request, or to read the reply")
        ->envname("MF_METADATA_REQUEST_TIMEOUT")
        ->capture_default_str();
    command
        .add_option("--idle-timeout", config.server.idle_timeout,
                    "Seconds a kept-alive connection may wait for its next request")
        ->envname("MF_METADATA_IDLE_TIMEOUT")
        ->capture_default_str();
    command
        .add_option("--drain-timeout", config.server.drain_timeout,
                    "Seconds SIGTERM waits for in-flight requests before closing them")
        ->envname("MF_METADATA_DRAIN_TIMEOUT")
        ->capture_default_str();

    auto& security = config.security;
    command
        .add_option("--api-keys-file", security.api_keys_file,
                    "File of API keys, one 'NAME:KEY' or 'NAME:sha256:HEX' a line, optionally "
                    "followed by 'read-only'; reread on SIGHUP")
        ->envname("MF_METADATA_API_KEYS_FILE");
    command
        .add_option("--api-keys", security.api_keys,
                    "API keys inline, in the key file's format, separated by commas")
        ->envname("MF_METADATA_API_KEYS");
    command
        .add_option("--allow-cidr", security.allow_cidrs,
                    "Only these networks may call the API (repeatable; default: any)")
        ->envname("MF_METADATA_ALLOW_CIDRS")
        ->delimiter(',');
    command
        .add_option("--migration-allow-cidr", security.migration_allow_cidrs,
                    "Only these networks may call the migration API (repeatable; default: any)")
        ->envname("MF_MIGRATION_ALLOW_CIDRS")
        ->delimiter(',');
    command
        .add_option("--trusted-proxy", security.trusted_proxies,
                    "Proxies whose X-Forwarded-For header is believed (repeatable)")
        ->envname("MF_METADATA_TRUSTED_PROXIES")
        ->delimiter(',');
    auto* cert = command.add_option("--tls-cert", security.tls_cert, "TLS certificate chain (PEM)")
                     ->envname("MF_METADATA_TLS_CERT")
                     ->check(CLI::ExistingFile);
    auto* key = command.add_option("--tls-key", security.tls_key, "TLS private key (PEM)")
                    ->envname("MF_METADATA_TLS_KEY")
                    ->check(CLI::ExistingFile);
    cert->needs(key);
    key->needs(cert);
    command
        .add_option("--tls-port", security.tls_port,
                    "Serve TLS on this port and plain HTTP on --port (default: --port is TLS only)")
        ->envname("MF_METADATA_TLS_PORT")
        ->needs(cert);
    command
        .add_option("--metrics-port", security.metrics_port,
                    "Serve /metrics on this port (default: on the API port, behind the keys)")
        ->envname("MF_METADATA_METRICS_PORT");
    command
        .add_option("--rate-limit", security.rate_limit,
                    "Requests a second allowed per API key (or address); 0 turns it off")
        ->envname("MF_METADATA_RATE_LIMIT")
        ->check(CLI::NonNegativeNumber);
    command
        .add_option("--rate-burst", security.rate_burst,
                    "Requests allowed in a burst above the rate (default: twice the rate)")
        ->envname("MF_METADATA_RATE_BURST")
        ->check(CLI::NonNegativeNumber);
    add_ui_options(command, config.ui);
}

std::string mask_secrets(std::string_view text) {
    std::string out(text);
    // scheme://user:password@host
    auto scheme = out.find("://");
    if (scheme != std::string::npos) {
        auto at = out.find('@', scheme + 3);
        auto colon = out.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
            out.replace(colon + 1, at - colon - 1, "****");
        }
    }
    // key=value connection strings: password=... up to the next space
    for (std::string_view key : {"password=", "pswd="}) {
        std::string lower = ascii_lower(out);
        for (auto at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
            auto begin = at + key.size();
            auto end = out.find_first_of(" \t", begin);
            if (end == std::string::npos) end = out.size();
            out.replace(begin, end - begin, "****");
            lower.replace(begin, end - begin, "****");
        }
    }
    return out;
}

std::string describe(const ServeConfig& c) {
    const auto& s = c.security;
    auto list = [](const std::vector<std::string>& items) {
        return items.empty() ? std::string("(any)") : fmt::format("{}", fmt::join(items, ","));
    };
    std::string out;
    auto line = [&](std::string_view name, const auto& value) {
        out += fmt::format("{} = {}\n", name, value);
    };
    line("host", c.server.host);
    line("port", c.server.port);
    line("database", mask_secrets(c.database));
    line("db-statement-timeout", c.db_statement_timeout);
    line("threads", c.server.threads);
    line("log-level", c.log_level);
    line("path-prefix", c.path_prefix);
    line("max-body-bytes", c.server.body_limit);
    line("max-connections", c.server.max_connections);
    line("request-timeout", c.server.header_timeout.count());
    line("idle-timeout", c.server.idle_timeout.count());
    line("drain-timeout", c.server.drain_timeout.count());
    line("api-keys-file", s.api_keys_file.empty() ? "(none)" : s.api_keys_file);
    line("api-keys", s.api_keys.empty() ? "(none)" : "****");
    line("allow-cidr", list(s.allow_cidrs));
    line("migration-allow-cidr", list(s.migration_allow_cidrs));
    line("trusted-proxy", list(s.trusted_proxies));
    line("tls-cert", s.tls_cert.empty() ? "(none)" : s.tls_cert);
    line("tls-key", s.tls_key.empty() ? "(none)" : s.tls_key);
    line("tls-port", s.tls_port);
    line("metrics-port", s.metrics_port);
    line("rate-limit", s.rate_limit);
    line("rate-burst", s.rate_burst);
    line("ui-port", c.ui.port);
    line("ui-host", c.ui.host.empty() ? c.server.host : c.ui.host);
    line("ui-dir", c.ui.static_dir.empty() ? "(none)" : c.ui.static_dir);
    line("ui-allow-cidr", list(c.ui.allow_cidrs));
    line("ui-plugins-dir", c.ui.plugins_dir.empty() ? "(none)" : c.ui.plugins_dir);
    return out;
}

}  // namespace mf
