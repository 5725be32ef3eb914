#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/clock.hpp"
#include "store/store.hpp"

namespace mf {

namespace pg {
class Query;
class SchemaPreparation;
}  // namespace pg

struct PostgresOptions {
    std::string conninfo;                        // libpq URL or key=value list
    std::optional<std::string> reader_conninfo;  // reads go there when set
    // Each server thread has a pool of its own: these bound each of them, so a process holds
    // up to threads × pool_max connections (twice that with a reader pool).
    std::size_t pool_min = 1;          // opened when the server starts
    std::size_t pool_max = 10;         // opened at most
    std::chrono::seconds timeout{60};  // for a connection and for each statement batch
    // Set on the connections of the pools (statement_timeout): a statement that runs longer,
    // e.g. waiting for a lock, is cancelled by the server and its request answered 503.
    // Zero: the server's own setting.
    std::chrono::milliseconds statement_timeout{30'000};
    // The schema's readiness; while it is not ready, every operation answers unavailable.
    // Null: ready.
    std::shared_ptr<const pg::SchemaPreparation> schema;
    // Where the change feed creates its notify triggers when they are missing
    // (DB_SCHEMA_NAME).
    std::string trigger_schema = "public";
    // The time the derived run status is computed against; the system clock when null.
    const Clock* clock = nullptr;
    // A table without statistics is analyzed once it holds this many rows (0: never): the
    // first statistics keep PostgreSQL's plans on the keys as a young database grows.
    std::int64_t first_analyze_rows = 2000;
};

// A store on the reference's PostgreSQL schema. Connecting happens on first use, on the
// event loop of the caller, or in warm_up(); the schema must be in place (see
// store/postgres/pg_schema.hpp) or options.schema say when it is.
std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options);

namespace pg {
// Every statement a store sends, with its parameters and their types, is passed to the
// observer when one is set: the query-plan tests use it to EXPLAIN the statements as the
// store prepares them.
using QueryObserver = std::function<void(const Query&)>;
void set_query_observer(QueryObserver observer);
}  // namespace pg

}  // namespace mf
