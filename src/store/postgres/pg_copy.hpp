#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mf::pg {

struct CopiedTable {
    std::string table;
    std::int64_t source_rows = 0;
    std::int64_t target_rows = 0;
};

// Copies every row of a SQLite store's file into the PostgreSQL database at `url` (migrated
// first if needed), ids preserved, then moves the id sequences past the highest id. Rows
// already there (same key) are left as they are, so a copy that was interrupted can simply
// be run again. Throws std::runtime_error, also when a table of the target ends up with
// fewer rows than the source's.
std::vector<CopiedTable> copy_from_sqlite(const std::string& sqlite_path, const std::string& url);

}  // namespace mf::pg
