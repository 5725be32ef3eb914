#pragma once

#include <string>

#include "http/router.hpp"
#include "store/migrations.hpp"

namespace mf::api {

struct MigrationContext {
    // Null when the store has no goose migrations (SQLite): those routes answer 501.
    Migrations* migrations = nullptr;
    bool upgrade_enabled = true;  // MF_MIGRATION_ENDPOINTS_ENABLED
};

// The reference's migration service (docs/api.md#migration-api), for its own listener: GET /ping,
// GET /version, GET /db_schema_status and, when enabled, PATCH /upgrade.
void add_migration_routes(http::Router& router, const MigrationContext& context);

// The body of /db_schema_status, also printed by `metadata-service db-status`.
std::string schema_status_json(const SchemaStatus& status);

}  // namespace mf::api
