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

struct PostgresOptions {
    std::string conninfo;                        // libpq URL or key=value list
    std::optional<std::string> reader_conninfo;  // reads go there when set (spec 7.9)
    std::size_t pool_max = 10;                   // connections per server thread
    std::chrono::seconds timeout{60};            // for a connection and for each statement
    // The time the derived run status is computed against; the system clock when null.
    const Clock* clock = nullptr;
};

// A store on the reference's PostgreSQL schema. Connecting happens on first use, on the
// event loop of the caller; the schema must be in place (see store/postgres/pg_schema.hpp).
std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options);

namespace pg {
// Every statement a store sends, with its parameters as text, is passed to the observer when
// one is set: the query-plan test uses it to EXPLAIN the reads the client makes.
using QueryObserver =
    std::function<void(const std::string& sql, const std::vector<std::optional<std::string>>&)>;
void set_query_observer(QueryObserver observer);
}  // namespace pg

}  // namespace mf
