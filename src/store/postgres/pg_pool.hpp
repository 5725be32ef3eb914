#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/postgres/pg_connection.hpp"

namespace mf::pg {

struct PoolOptions {
    std::string conninfo;
    std::size_t min_connections = 1;   // per event loop, opened by fill()
    std::size_t max_connections = 10;  // per event loop
    std::chrono::seconds timeout{60};  // to get a connection, and for each statement batch
    // Set on each connection once opened; zero leaves the server's setting. (Set by a
    // statement rather than in the startup packet's options, which poolers such as
    // PgBouncer refuse.)
    std::chrono::milliseconds statement_timeout{0};
};

// The connections of one event loop. Only the thread running that loop touches it, so it
// takes no locks; a request that finds every connection busy waits in line for one.
class Pool {
public:
    explicit Pool(const PoolOptions& options) : options_(options) {}

    class Lease;
    boost::asio::awaitable<Result<Lease>> acquire();
    // Opens connections until min_connections are open; stops at the first failure.
    boost::asio::awaitable<Result<Ok>> fill();

    // A connection lent to one coroutine; given back (or dropped, when broken) at the end.
    class Lease {
    public:
        Lease(Pool& pool, std::unique_ptr<Connection> connection)
            : pool_(&pool), connection_(std::move(connection)) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (connection_) pool_->release(std::move(connection_));
        }
        Connection& operator*() { return *connection_; }
        Connection* operator->() { return connection_.get(); }

    private:
        Pool* pool_;
        std::unique_ptr<Connection> connection_;
    };

    std::chrono::seconds timeout() const { return options_.timeout; }

private:
    boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open_one(
        Clock::time_point deadline);
    void release(std::unique_ptr<Connection> connection);
    void wake_one();

    const PoolOptions& options_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;  // idle and lent
    std::deque<boost::asio::steady_timer*> waiters_;
};

// A pool for each event loop that asks, created on first use.
class PoolSet {
public:
    explicit PoolSet(PoolOptions options) : options_(std::move(options)) {}
    // The pool of the loop `executor` belongs to.
    Pool& pool_for(const boost::asio::any_io_executor& executor);

private:
    const PoolOptions options_;
    std::mutex mutex_;
    std::unordered_map<const void*, std::unique_ptr<Pool>> pools_;
};

}  // namespace mf::pg
