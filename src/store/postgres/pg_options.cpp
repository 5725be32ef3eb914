#include "store/postgres/pg_options.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>

namespace mf::pg {
namespace {

using Settings = std::map<std::string, std::string>;

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (!value) return std::nullopt;
    return std::string(value);
}

std::string environment_or(const char* name, const char* fallback) {
    return environment(name).value_or(fallback);
}

std::int64_t integer_environment(const char* name, std::int64_t fallback) {
    auto text = environment(name);
    if (!text) return fallback;
    try {
        std::size_t used = 0;
        std::int64_t value = std::stoll(*text, &used);
        if (used == text->size() && value > 0) return value;
    } catch (const std::exception&) {
    }
    throw std::runtime_error(std::string(name) + " must be a positive integer, not '" + *text +
                             "'");
}

// libpq's reading of a URL or key=value DSN; nullopt when it does not parse.
std::optional<Settings> parse_conninfo(const std::string& conninfo) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(
        PQconninfoParse(conninfo.c_str(), &error), PQconninfoFree);
    if (!options) {
        PQfreemem(error);
        return std::nullopt;
    }
    Settings settings;
    for (auto* option = options.get(); option->keyword; ++option) {
        if (option->val && *option->val) settings[option->keyword] = option->val;
    }
    return settings;
}

std::string percent_encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string to_url(Settings settings) {
    auto take = [&](const char* key) {
        auto found = settings.find(key);
        if (found == settings.end()) return std::string();
        std::string value = percent_encode(found->second);
        settings.erase(found);
        return value;
    };
    std::string url = "postgresql://";
    std::string user = take("user");
    std::string password = take("password");
    if (!user.empty()) url += user + (password.empty() ? "" : ":" + password) + "@";
    url += take("host");
    std::string port = take("port");
    if (!port.empty()) url += ":" + port;
    url += "/" + take("dbname");
    char separator = '?';
    for (const auto& [key, value] : settings) {
        url += separator + key + "=" + percent_encode(value);
        separator = '&';
    }
    return url;
}

bool enables_ssl(const std::string& mode) {
    return mode == "allow" || mode == "prefer" || mode == "require" || mode == "verify-ca" ||
           mode == "verify-full";
}

bool truthy(const std::optional<std::string>& value) {
    return value == "1" || value == "true" || value == "True";
}

}  // namespace

std::optional<std::string> database_url_from_environment() {
    if (auto dsn = environment("MF_METADATA_DB_DSN")) {
        if (auto settings = parse_conninfo(*dsn)) return to_url(*settings);
    }
    if (!environment("MF_METADATA_DB_HOST")) return std::nullopt;
    Settings settings{
        {"host", environment_or("MF_METADATA_DB_HOST", "localhost")},
        {"port", environment_or("MF_METADATA_DB_PORT", "5432")},
        {"user", environment_or("MF_METADATA_DB_USER", "postgres")},
        {"password", environment_or("MF_METADATA_DB_PSWD", "postgres")},
        {"dbname", environment_or("MF_METADATA_DB_NAME", "postgres")},
    };
    // Other modes leave libpq's default (prefer), as the reference's pools do.
    const std::string ssl_mode = environment_or("MF_METADATA_DB_SSL_MODE", "disabled");
    if (enables_ssl(ssl_mode)) {
        settings["sslmode"] = ssl_mode;
        const std::pair<const char*, const char*> files[] = {
            {"MF_METADATA_DB_SSL_CERT_PATH", "sslcert"},
            {"MF_METADATA_DB_SSL_KEY_PATH", "sslkey"},
            {"MF_METADATA_DB_SSL_ROOT_CERT_PATH", "sslrootcert"},
        };
        for (const auto& [variable, keyword] : files) {
            if (auto path = environment(variable)) settings[keyword] = *path;
        }
    }
    return to_url(settings);
}

PostgresOptions postgres_options(const std::string& url,
                                 std::chrono::milliseconds statement_timeout) {
    auto settings = parse_conninfo(url);
    if (!settings) throw std::runtime_error("cannot parse the database URL " + url);
    PostgresOptions options;
    options.conninfo = url;
    options.statement_timeout = statement_timeout;
    options.pool_min = static_cast<std::size_t>(integer_environment("MF_METADATA_DB_POOL_MIN", 1));
    options.pool_max = static_cast<std::size_t>(integer_environment("MF_METADATA_DB_POOL_MAX", 10));
    if (options.pool_min > options.pool_max) {
        throw std::runtime_error("MF_METADATA_DB_POOL_MIN (" + std::to_string(options.pool_min) +
                                 ") is above MF_METADATA_DB_POOL_MAX (" +
                                 std::to_string(options.pool_max) + ")");
    }
    options.timeout = std::chrono::seconds(integer_environment("MF_METADATA_DB_TIMEOUT", 60));
    options.trigger_schema = environment_or("DB_SCHEMA_NAME", "public");
    if (truthy(environment("USE_SEPARATE_READER_POOL"))) {
        // Only the host differs from the writer's settings (README.md#postgresql).
        if (auto replica = environment("MF_METADATA_DB_READ_REPLICA_HOST"))
            (*settings)["host"] = *replica;
        options.reader_conninfo = to_url(*settings);
    }
    return options;
}

SchemaSetup schema_setup(bool migrate) {
    SchemaSetup setup;
    setup.migrate = migrate;
    if (environment("DB_TRIGGER_CREATE") == "1")
        setup.trigger_schema = environment_or("DB_SCHEMA_NAME", "public");
    return setup;
}

}  // namespace mf::pg
