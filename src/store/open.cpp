#include "store/open.hpp"

#include <stdexcept>

#include "store/postgres/pg_copy.hpp"
#include "store/postgres/pg_migrations.hpp"
#include "store/postgres/pg_options.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace mf {

bool is_postgres_url(const std::string& url) {
    return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::optional<std::string> sqlite_path(const std::string& url) {
    const std::string sqlite_scheme = "sqlite:";
    if (url.rfind(sqlite_scheme, 0) != 0) return std::nullopt;
    std::string path = url.substr(sqlite_scheme.size());
    // Accept sqlite:///abs/path as well as sqlite:relative/path.
    if (path.rfind("//", 0) == 0) path = path.substr(2);
    if (path.empty()) throw std::runtime_error("database URL " + url + " names no file");
    return path;
}

std::unique_ptr<Store> open_store(const std::string& url, const Clock& clock,
                                  StoreOpenOptions options) {
    if (auto path = sqlite_path(url)) {
        SqliteOptions sqlite_options;
        sqlite_options.path = *path;
        sqlite_options.clock = &clock;
        return open_sqlite_store(sqlite_options);
    }
    if (is_postgres_url(url)) {
        PostgresOptions postgres_options = pg::postgres_options(url, options.statement_timeout);
        postgres_options.clock = &clock;
        postgres_options.schema =
            std::make_shared<pg::SchemaPreparation>(url, pg::schema_setup(options.migrate));
        return open_postgres_store(postgres_options);
    }
    throw std::runtime_error("unknown database URL '" + url +
                             "': expected sqlite:PATH or postgresql://...");
}

std::vector<pg::CopiedTable> copy_sqlite_to_postgres(const std::string& from_url,
                                                     const std::string& to_url) {
    auto path = sqlite_path(from_url);
    if (!path) throw std::runtime_error("--from must be sqlite:PATH, not " + from_url);
    if (!is_postgres_url(to_url)) throw std::runtime_error("--to must be postgresql://...");
    return pg::copy_from_sqlite(*path, to_url);
}

std::optional<std::string> environment_database_url() {
    return pg::database_url_from_environment();
}

std::unique_ptr<Migrations> open_migrations(const std::string& url) {
    if (!is_postgres_url(url)) return nullptr;
    return pg::open_postgres_migrations(url);
}

}  // namespace mf
