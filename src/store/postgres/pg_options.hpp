#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "store/postgres/pg_migrations.hpp"
#include "store/postgres/pg_store.hpp"

namespace mf::pg {

// The database the reference's MF_METADATA_DB_* variables describe (README.md#postgresql), as a
// postgresql:// URL; nullopt when neither MF_METADATA_DB_HOST nor MF_METADATA_DB_DSN is
// set. MF_METADATA_DB_DSN wins when libpq can parse it.
std::optional<std::string> database_url_from_environment();

// The store's options for a database URL (or libpq DSN): pool sizes, timeout and the
// optional read-replica pool from the environment, and the statement timeout of their
// sessions. Throws std::runtime_error on a variable that does not parse.
PostgresOptions postgres_options(const std::string& url,
                                 std::chrono::milliseconds statement_timeout);

// What a serving process does to the schema at startup: migrate as asked, and create the
// notify triggers when DB_TRIGGER_CREATE is 1, in DB_SCHEMA_NAME (default public).
SchemaSetup schema_setup(bool migrate);

}  // namespace mf::pg
