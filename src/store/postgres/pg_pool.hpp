#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "store/store.hpp"

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
    // Where the connections count their backends while open (pg_own_backends.hpp), when
    // given: the writers'.
    std::shared_ptr<OwnBackends> own_backends;
};

// Transactions PostgreSQL rolled back to break a deadlock or a serialization conflict with
// another, each of which ran again.
struct Conflicts {
    std::uint64_t deadlocks = 0;
    std::uint64_t serialization_failures = 0;
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

    // Read from any thread, for /metrics: a moment's state, possibly a moment old.
    PoolGauges gauges() const;
    Conflicts conflicts() const;

    // Runs read-only queries together with those of the loop's other requests that ask
    // before the loop's next turn, or while earlier batches are in flight: one write, one
    // wakeup of the database and one read serve them all (Connection::run_batch), and each
    // request still gets its own outcome.
    boost::asio::awaitable<Outcome> read(const std::vector<Query>& queries);
    // Runs a write's queries (each request's as one unit: all or nothing) in one transaction
    // with those of the loop's other writes that gather the same way: one commit and one
    // wakeup of the database for them all (group commit). Each request gets the outcome it
    // would have had alone: when one fails, the others run again without it.
    // `lock_order` names the rows the write updates, in the order it updates them (empty
    // when it only inserts): a transaction runs its writes in that order, so that two
    // transactions take their row locks in the same order and cannot deadlock each other.
    boost::asio::awaitable<Outcome> write(const std::vector<Query>& queries,
                                          std::string lock_order = {});

private:
    boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open_one(
        Clock::time_point deadline);

    // A request's queries waiting in a batch, and their outcome once the batch ran.
    struct Batched {
        const std::vector<Query>* queries;
        std::string lock_order;
        std::optional<Outcome> outcome;
        boost::asio::steady_timer* ran;  // cancelled when the outcome is there
    };
    using Batch = std::vector<Batched*>;
    static constexpr std::size_t kMaxBatch = 32;
    // Batches of a lane sent and not yet answered, at most: the requests that come meanwhile
    // gather into the next batch, so that the busier the loop, the bigger its batches.
    static constexpr std::size_t kMaxBatchesInFlight = 2;
    // The requests of one kind that go together.
    struct Lane {
        // The batch the loop's requests join until it is sent.
        std::shared_ptr<Batch> gathering;
        std::size_t batches_in_flight = 0;
        std::deque<boost::asio::steady_timer*> waiters;  // leaders waiting to send
    };
    boost::asio::awaitable<Outcome> batched(const std::vector<Query>& queries,
                                            std::string lock_order, Lane& lane,
                                            bool one_transaction);
    boost::asio::awaitable<std::vector<Outcome>> run_gathered(
        const std::vector<const std::vector<Query>*>& groups, bool one_transaction);
    // The groups' outcomes as if each had run alone, from as few transactions as failures
    // allow.
    boost::asio::awaitable<std::vector<Outcome>> commit_together(
        Connection& connection, const std::vector<const std::vector<Query>*>& groups,
        Clock::time_point deadline);
    // Runs one request's queries in the implicit transaction of their pipeline, again when
    // PostgreSQL aborts it for a deadlock or a serialization conflict, up to kMostAttempts.
    boost::asio::awaitable<Outcome> run_alone(Connection& connection,
                                              const std::vector<Query>& group,
                                              Clock::time_point deadline);
    static constexpr int kMostAttempts = 4;
    void count_conflict(const ServerError& failure);

    void release(std::unique_ptr<Connection> connection);
    void wake_one();
    // Copies open_ and idle_ for gauges(), after each change of either.
    void publish();

    const PoolOptions& options_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;  // idle and lent
    std::deque<boost::asio::steady_timer*> waiters_;
    Lane reads_;
    Lane writes_;
    std::atomic<std::size_t> published_open_{0};
    std::atomic<std::size_t> published_idle_{0};
    std::atomic<std::size_t> waiting_{0};  // requests waiting for a connection
    std::atomic<std::uint64_t> deadlocks_{0};
    std::atomic<std::uint64_t> serialization_failures_{0};
};

// A pool for each event loop that asks, created on first use.
class PoolSet {
public:
    explicit PoolSet(PoolOptions options) : options_(std::move(options)) {}
    // The pool of the loop `executor` belongs to.
    Pool& pool_for(const boost::asio::any_io_executor& executor);
    // The sums over every loop's pool.
    PoolGauges gauges() const;
    Conflicts conflicts() const;

private:
    const PoolOptions options_;
    mutable std::mutex mutex_;
    std::unordered_map<const void*, std::unique_ptr<Pool>> pools_;
};

}  // namespace mf::pg
