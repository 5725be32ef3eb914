#pragma once

#include <memory>
#include <string>

#include "model/clock.hpp"
#include "store/store.hpp"

namespace mf {

struct SqliteOptions {
    std::string path;
    bool synchronous_full =
        true;  // false: synchronous=NORMAL, which may lose the last commits on power loss
    int busy_timeout_ms = 5000;  // how long a write waits for another process's write lock
    // The time the derived run status is computed against; the system clock when null.
    const Clock* clock = nullptr;
};

// Opens (creating if needed) and migrates the database file; throws std::runtime_error with a
// clear message on failure.
//
// Writes are queued to one writer thread and committed in batches; reads run on the calling
// thread, on connections from a small pool. The file must stay on a local disk (WAL mode).
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options);

}  // namespace mf
