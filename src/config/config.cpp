#include "config/config.hpp"

namespace mf {

void add_serve_options(CLI::App& command, ServeConfig& config) {
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
        ->capture_default_str();
}

}  // namespace mf
