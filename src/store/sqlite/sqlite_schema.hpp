#pragma once

#include "store/sqlite/sqlite_connection.hpp"

namespace mf::sqlite {

// The schema version this binary migrates to (PRAGMA user_version).
int latest_schema_version();

// Applies the migrations the database lacks, all in one transaction. Throws
// std::runtime_error when the file has a newer schema than this binary knows, and
// SqliteError when a statement fails.
void migrate(Connection& db);

}  // namespace mf::sqlite
