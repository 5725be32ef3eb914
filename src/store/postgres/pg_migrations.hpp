#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/migrations.hpp"

namespace mf::pg {

struct SchemaSetup {
    // Apply pending migrations to a database at an older version (an empty one always is).
    bool migrate = false;
    // Set (DB_TRIGGER_CREATE=1): create the notify triggers (README.md#postgresql) in this schema
    // (DB_SCHEMA_NAME).
    std::optional<std::string> trigger_schema;
};

// Brings the schema of the database at `url` to where a server can use it: an empty
// database is migrated; one at another version is refused with a message that says what to
// run, unless setup.migrate is set; then the triggers, if asked for.
//
// The constructor tries as the reference does at startup (MF_SERVICE_CONNECTION_RETRIES
// attempts, MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS apart) and throws
// std::runtime_error when the schema is refused. Where the reference then dies because the
// database cannot be reached, this returns, not ready(), and keeps trying on a thread of its
// own at the same interval, so that a service can start before its database and serve 503
// meanwhile. The same when another process holds the migration lock (its migrations run) for
// longer than those attempts would take; the thread's wait for it ends with this object, so
// that a service stops promptly. A schema refused later (the database came up at a version
// this build does not know) is retried too, in case an operator migrates it.
class SchemaPreparation {
public:
    SchemaPreparation(std::string url, SchemaSetup setup);
    ~SchemaPreparation();
    SchemaPreparation(const SchemaPreparation&) = delete;
    SchemaPreparation& operator=(const SchemaPreparation&) = delete;

    bool ready() const { return ready_.load(std::memory_order_acquire); }

private:
    void retry_until_ready();

    const std::string url_;
    const SchemaSetup setup_;
    std::atomic<bool> ready_{false};
    std::mutex mutex_;
    std::condition_variable stop_requested_;
    bool stopping_ = false;
    std::thread retrying_;
};

// The migration interface over a PostgreSQL database. Its work runs on a thread of its own,
// since migrations hold a connection for minutes; callers are resumed on their executor.
std::unique_ptr<Migrations> open_postgres_migrations(const std::string& url);

}  // namespace mf::pg
