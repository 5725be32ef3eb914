#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/clock.hpp"
#include "store/migrations.hpp"
#include "store/postgres/pg_copy.hpp"
#include "store/store.hpp"

namespace mf {

struct StoreOpenOptions {
    // Apply pending migrations to a database that already has a schema. An empty database
    // is always migrated; one at another version is otherwise refused (PostgreSQL).
    bool migrate = false;
    // PostgreSQL: statements running longer are cancelled (503); zero: the server's setting.
    std::chrono::milliseconds statement_timeout{30'000};
};

// Opens the store a database URL names: `sqlite:PATH` (the embedded default) or
// `postgresql://...`. Throws std::runtime_error with a message fit for an operator. The
// clock is the time of derived values (run status); it must outlive the store.
std::unique_ptr<Store> open_store(const std::string& url, const Clock& clock,
                                  StoreOpenOptions options = {});

// The schema migrations of the database a URL names; null for SQLite, whose file is
// migrated when opened and has no goose versions to report.
std::unique_ptr<Migrations> open_migrations(const std::string& url);

// `metadata-service copy`: every row of a SQLite store (sqlite:PATH) into a PostgreSQL
// database, ids preserved and sequences advanced past them; safe to run again after an
// interruption. Returns the row counts of each table; throws std::runtime_error.
std::vector<pg::CopiedTable> copy_sqlite_to_postgres(const std::string& from_url,
                                                     const std::string& to_url);

// The PostgreSQL database the reference's MF_METADATA_DB_* variables describe
// (README.md#postgresql), as a URL; nullopt when neither MF_METADATA_DB_HOST nor MF_METADATA_DB_DSN
// is set.
std::optional<std::string> environment_database_url();

// The file of a sqlite:PATH URL; nullopt for another scheme. Throws when it names no file.
std::optional<std::string> sqlite_path(const std::string& url);

// Whether the URL names a PostgreSQL database.
bool is_postgres_url(const std::string& url);

}  // namespace mf
