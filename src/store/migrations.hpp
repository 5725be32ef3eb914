#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace mf {

// Where a database's schema stands against the migrations this build knows
// (docs/api.md#migration-api).
struct SchemaStatus {
    std::int64_t current_version = 0;              // goose's version; 0 for an empty database
    std::vector<std::int64_t> known_versions;      // every migration of this build, ascending
    std::vector<std::int64_t> unapplied_versions;  // known versions after the current one
    bool has_tables = false;                       // the metadata tables exist (in any schema)

    bool is_up_to_date() const { return unapplied_versions.empty(); }
    std::int64_t latest_version() const {
        return known_versions.empty() ? 0 : known_versions.back();
    }
};

// The schema of a store's database, for `migrate`, `db-status` and the migration API.
// Every method may be called from any server thread; none blocks the caller's thread.
class Migrations {
public:
    virtual ~Migrations() = default;
    virtual Async<SchemaStatus> status() = 0;
    // Applies what is pending; returns the versions applied.
    virtual Async<std::vector<std::int64_t>> upgrade() = 0;
};

}  // namespace mf
