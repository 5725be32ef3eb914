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

namespace mf::pg {
namespace {

namespace asio = boost::asio;

int environment_count(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value ? std::atoi(value) : fallback;
}

BlockingConnection connect_with_retries(const std::string& url) {
    const int attempts = std::max(1, environment_count("MF_SERVICE_CONNECTION_RETRIES", 3));
    const int wait_s = environment_count("MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS", 1);
    for (int attempt = 1;; ++attempt) {
        try {
            return BlockingConnection(url);
        } catch (const std::runtime_error& e) {
            if (attempt >= attempts) throw;
            spdlog::warn("{}; retrying in {} s", e.what(), wait_s);
            std::this_thread::sleep_for(std::chrono::seconds(wait_s));
        }
    }
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

void prepare_schema(const std::string& url, bool migrate) {
    BlockingConnection db = connect_with_retries(url);
    SchemaStatus status = read_schema_status(db);
    if (status.current_version == status.latest_version()) return;
    // Behind: perhaps another process starting at the same time is migrating the database.
    if (status.has_tables && !migrate) status = read_schema_status_after_migrations(db);
    if (status.current_version == status.latest_version()) return;
    if (!status.has_tables || migrate) {
        apply_migrations(db);
        return;
    }
    const std::string current = std::to_string(status.current_version);
    const std::string latest = std::to_string(status.latest_version());
    if (status.current_version > status.latest_version()) {
        throw std::runtime_error("the database schema is at version " + current +
                                 ", newer than this build knows (" + latest +
                                 "): run a newer metadata service, or start with --migrate to "
                                 "serve it anyway");
    }
    throw std::runtime_error("the database schema is at version " + current +
                             " and this build needs " + latest +
                             ": run `metadata-service migrate --database URL` first, or start "
                             "with --migrate");
}

std::unique_ptr<Migrations> open_postgres_migrations(const std::string& url) {
    return std::make_unique<PostgresMigrations>(url);
}

}  // namespace mf::pg
