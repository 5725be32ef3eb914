#pragma once

#include <optional>
#include <string>

#include "store/postgres/pg_store.hpp"

namespace mf::pg {

// The database the reference's MF_METADATA_DB_* variables describe (spec 10.1), as a
// postgresql:// URL; nullopt when neither MF_METADATA_DB_HOST nor MF_METADATA_DB_DSN is
// set. MF_METADATA_DB_DSN wins when libpq can parse it.
std::optional<std::string> database_url_from_environment();

// The store's options for a database URL (or libpq DSN): pool size, timeout and the
// optional read-replica pool from the environment. Throws std::runtime_error on a variable
// that does not parse.
PostgresOptions postgres_options(const std::string& url);

}  // namespace mf::pg
