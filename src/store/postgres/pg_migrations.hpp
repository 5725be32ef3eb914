#pragma once

#include <memory>
#include <string>

#include "store/migrations.hpp"

namespace mf::pg {

// Brings the schema of the database at `url` to where a server can use it, before it
// serves: an empty database is migrated; one at another version is refused with a message
// that says what to run, unless `migrate` is set. Retries the connection as the reference
// does (MF_SERVICE_CONNECTION_RETRIES, MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS). Throws
// std::runtime_error.
void prepare_schema(const std::string& url, bool migrate);

// The migration interface over a PostgreSQL database. Its work runs on a thread of its own,
// since migrations hold a connection for minutes; callers are resumed on their executor.
std::unique_ptr<Migrations> open_postgres_migrations(const std::string& url);

}  // namespace mf::pg
