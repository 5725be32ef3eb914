#include "store/postgres/pg_migrations.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"
#include "store/postgres/pg_triggers.hpp"

namespace mf::pg {
namespace {

namespace asio = boost::asio;

int environment_count(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value ? std::atoi(value) : fallback;
}

std::chrono::seconds retry_wait() {
    return std::chrono::seconds(
        std::max(0, environment_count("MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS", 1)));
}

// Throws ConnectionFailed when the database cannot be reached, MigrationLockBusy when
// `give_up` ends the wait for another process's migrations, std::runtime_error when the
// schema is refused or a migration fails.
void prepare(const std::string& url, const SchemaSetup& setup, const GiveUpWaiting& give_up) {
    BlockingConnection db(url);
    SchemaStatus status = read_schema_status(db);
    // Behind: perhaps another process starting at the same time is migrating the database.
    if (status.current_version != status.latest_version() && status.has_tables && !setup.migrate)
        status = read_schema_status_after_migrations(db, give_up);
    if (status.current_version != status.latest_version()) {
        if (status.has_tables && !setup.migrate) {
            const std::string current = std::to_string(status.current_version);
            const std::string latest = std::to_string(status.latest_version());
            if (status.current_version > status.latest_version()) {
                throw std::runtime_error(
                    "the database schema is at version " + current +
                    ", newer than this build knows (" + latest +
                    "): run a newer metadata service, or start with --migrate to serve it "
                    "anyway");
            }
            throw std::runtime_error("the database schema is at version " + current +
                                     " and this build needs " + latest +
                                     ": run `metadata-service migrate --database URL` first, or "
                                     "start with --migrate");
        }
        apply_migrations(db, give_up);
    }
    if (setup.trigger_schema) create_notify_triggers(db, *setup.trigger_schema);
}

class PostgresMigrations final : public Migrations {
public:
    explicit PostgresMigrations(std::string url) : url_(std::move(url)) {}
    ~PostgresMigrations() override { worker_.join(); }

    Async<SchemaStatus> status() override {
        return on_worker<SchemaStatus>([url = url_] {
            BlockingConnection db(url);
            return read_schema_status(db);
        });
    }

    Async<std::vector<std::int64_t>> upgrade() override {
        return on_worker<std::vector<std::int64_t>>([url = url_] {
            BlockingConnection db(url);
            return apply_migrations(db);
        });
    }

private:
    template <class T, class Work>
    Async<T> on_worker(Work work) {
        // Optional because co_spawn needs a result it can default-construct.
        auto task = [work = std::move(work)]() -> asio::awaitable<std::optional<Result<T>>> {
            try {
                co_return Result<T>(work());
            } catch (const std::exception& e) {
                spdlog::error("schema: {}", e.what());
                co_return Result<T>(Error::unavailable(e.what()));
            }
        };
        auto result = co_await asio::co_spawn(worker_, std::move(task), asio::use_awaitable);
        co_return std::move(*result);
    }

    const std::string url_;
    asio::thread_pool worker_{1};
};

}  // namespace

SchemaPreparation::SchemaPreparation(std::string url, SchemaSetup setup)
    : url_(std::move(url)), setup_(std::move(setup)) {
    const int attempts = std::max(1, environment_count("MF_SERVICE_CONNECTION_RETRIES", 3));
    // Another process's migrations (CREATE INDEX CONCURRENTLY may take hours) are waited for
    // as long as a database that does not answer: then the service serves 503 meanwhile.
    const auto stop_waiting_at = std::chrono::steady_clock::now() + attempts * retry_wait();
    const GiveUpWaiting give_up = [stop_waiting_at] {
        return std::chrono::steady_clock::now() >= stop_waiting_at;
    };
    for (int attempt = 1;; ++attempt) {
        try {
            prepare(url_, setup_, give_up);
            ready_ = true;
            return;
        } catch (const MigrationLockBusy& e) {
            spdlog::warn("{}; serving 503 until they are done", e.what());
            break;
        } catch (const ConnectionFailed& e) {
            if (attempt >= attempts) {
                spdlog::error("{}; serving 503 until the database answers (retrying every {} s)",
                              e.what(), retry_wait().count());
                break;
            }
            spdlog::warn("{}; retrying in {} s", e.what(), retry_wait().count());
            std::this_thread::sleep_for(retry_wait());
        }
    }
    retrying_ = std::thread([this] { retry_until_ready(); });
}

SchemaPreparation::~SchemaPreparation() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_requested_.notify_all();
    if (retrying_.joinable()) retrying_.join();
}

void SchemaPreparation::retry_until_ready() {
    std::string last_failure;
    std::unique_lock lock(mutex_);
    // At least a short pause, so that a zero wait does not spin.
    const auto wait =
        std::max<std::chrono::milliseconds>(retry_wait(), std::chrono::milliseconds(100));
    while (!stop_requested_.wait_for(lock, wait, [this] { return stopping_; })) {
        lock.unlock();
        try {
            // The wait for another process's migrations ends with the service.
            prepare(url_, setup_, [this] {
                std::lock_guard stopping_lock(mutex_);
                return stopping_;
            });
            ready_ = true;
            spdlog::info("the database is ready: serving");
            return;
        } catch (const std::exception& e) {
            // Logged once per distinct reason, not once per attempt.
            if (e.what() != last_failure) spdlog::error("database not ready: {}", e.what());
            last_failure = e.what();
        }
        lock.lock();
    }
}

std::unique_ptr<Migrations> open_postgres_migrations(const std::string& url) {
    return std::make_unique<PostgresMigrations>(url);
}

}  // namespace mf::pg
