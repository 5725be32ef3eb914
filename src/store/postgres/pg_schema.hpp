#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/migrations.hpp"
#include "store/postgres/pg_connection.hpp"

// The reference's schema as its 13 goose migrations, and a runner that
// keeps goose's bookkeeping, so that goose, the Python service and this one each see the
// version the others applied.
namespace mf::pg {

// Every known version but 0, ascending.
std::vector<std::int64_t> known_versions();

// Reads the schema's state; creates nothing.
SchemaStatus read_schema_status(BlockingConnection& db);

// Asked while waiting for the migration lock that another process holds: true ends the wait
// with MigrationLockBusy. Empty: wait as long as the lock is held.
using GiveUpWaiting = std::function<bool()>;

// Another process held the migration lock until the caller gave up waiting for it.
class MigrationLockBusy : public std::runtime_error {
public:
    MigrationLockBusy()
        : std::runtime_error("another process is applying migrations (it holds their lock)") {}
};

// Reads the schema's state once no other process is applying migrations: a process that
// starts while another migrates an empty database would otherwise see it half-migrated.
SchemaStatus read_schema_status_after_migrations(BlockingConnection& db,
                                                 const GiveUpWaiting& give_up = {});

// Applies what is pending, in order, under an advisory lock so that processes starting
// together apply each migration once; returns the versions it applied. Each migration runs
// in a transaction, except those that create indexes CONCURRENTLY, which run statement by
// statement as goose runs them. Throws std::runtime_error when a migration fails.
std::vector<std::int64_t> apply_migrations(BlockingConnection& db,
                                           const GiveUpWaiting& give_up = {});

}  // namespace mf::pg
