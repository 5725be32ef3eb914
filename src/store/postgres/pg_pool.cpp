#include "store/postgres/pg_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <tuple>
#include <variant>

namespace mf::pg {

namespace asio = boost::asio;

namespace {

// A timer waiting in a queue for its turn, taken off the queue however its coroutine ends:
// also when the coroutine is destroyed while suspended (an io_context torn down after the
// drain timeout), so that a release never cancels a timer that is gone.
class QueuedTimer {
public:
    QueuedTimer(std::deque<asio::steady_timer*>& queue, asio::steady_timer& timer)
        : queue_(queue), timer_(timer) {
        queue_.push_back(&timer_);
    }
    ~QueuedTimer() { std::erase(queue_, &timer_); }
    QueuedTimer(const QueuedTimer&) = delete;
    QueuedTimer& operator=(const QueuedTimer&) = delete;

private:
    std::deque<asio::steady_timer*>& queue_;
    asio::steady_timer& timer_;
};

// Counts itself in `count` for as long as it lives, for the same reason.
class CountedScope {
public:
    explicit CountedScope(std::atomic<std::size_t>& count) : count_(count) { ++count_; }
    ~CountedScope() { --count_; }
    CountedScope(const CountedScope&) = delete;
    CountedScope& operator=(const CountedScope&) = delete;

private:
    std::atomic<std::size_t>& count_;
};

}  // namespace

asio::awaitable<Result<Pool::Lease>> Pool::acquire() {
    const auto deadline = Clock::now() + options_.timeout;
    for (;;) {
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            publish();
            co_return Lease(*this, std::move(connection));
        }
        if (open_ < options_.max_connections) {
            auto opened = co_await open_one(deadline);
            if (!opened) co_return opened.take_error();
            co_return Lease(*this, std::move(opened).value());
        }
        auto executor = co_await asio::this_coro::executor;
        asio::steady_timer turn(executor, deadline);
        boost::system::error_code ec;
        {
            QueuedTimer queued(waiters_, turn);
            CountedScope waiting(waiting_);
            std::tie(ec) = co_await turn.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        // A release cancels the timer of the first in line; expiry means none came in time.
        if (!ec) co_return Error::unavailable("timed out waiting for a database connection");
    }
}

asio::awaitable<Result<Ok>> Pool::fill() {
    const auto deadline = Clock::now() + options_.timeout;
    while (open_ < options_.min_connections) {
        auto opened = co_await open_one(deadline);
        if (!opened) co_return opened.take_error();
        release(std::move(opened).value());
    }
    co_return Ok{};
}

asio::awaitable<Result<std::unique_ptr<Connection>>> Pool::open_one(Clock::time_point deadline) {
    // Counted while it connects, so that concurrent requests do not open more than the most.
    ++open_;
    publish();
    auto opened = co_await Connection::open(options_.conninfo, deadline);
    if (opened) {
        // No JIT: each statement reads a few rows, and compiling one takes hundreds of
        // milliseconds whenever an estimate from stale statistics passes jit_above_cost.
        std::vector<Query> setup{Query("SET jit = off")};
        if (options_.statement_timeout.count() > 0) {
            setup.emplace_back("SET statement_timeout = " +
                               std::to_string(options_.statement_timeout.count()));
        }
        if (options_.own_backends) setup.emplace_back("SELECT pg_backend_pid()");
        auto outcome = co_await (*opened)->run(setup, deadline);
        if (auto* failure = std::get_if<ServerError>(&outcome)) {
            opened = to_error(*failure);
        } else if (options_.own_backends) {
            const auto& rows = std::get<std::vector<Rows>>(outcome);
            (*opened)->count_among(options_.own_backends,
                                   static_cast<int>(rows.back().int64(0, 0)));
        }
    }
    if (!opened) {
        --open_;
        publish();
        wake_one();
    }
    co_return opened;
}

asio::awaitable<Outcome> Pool::read(const std::vector<Query>& queries) {
    return batched(queries, {}, reads_, false);
}

asio::awaitable<Outcome> Pool::write(const std::vector<Query>& queries, std::string lock_order) {
    return batched(queries, std::move(lock_order), writes_, true);
}

asio::awaitable<Outcome> Pool::batched(const std::vector<Query>& queries, std::string lock_order,
                                       Lane& lane, bool one_transaction) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer ran(executor, asio::steady_timer::time_point::max());
    Batched self{&queries, std::move(lock_order), std::nullopt, &ran};
    if (lane.gathering && lane.gathering->size() < kMaxBatch) {
        // The request that opened the batch sends it, and wakes this one with its outcome.
        lane.gathering->push_back(&self);
        co_await ran.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!self.outcome) co_return ServerError{"", "the batch did not run", ""};
        co_return std::move(*self.outcome);
    }
    auto batch = std::make_shared<Batch>(Batch{&self});
    lane.gathering = batch;
    // One turn of the loop, in which the requests that are ready join the batch; then as
    // long as the batches in flight take, in which more join.
    co_await asio::post(executor, asio::use_awaitable);
    while (lane.batches_in_flight >= kMaxBatchesInFlight) {
        asio::steady_timer turn(executor, asio::steady_timer::time_point::max());
        QueuedTimer queued(lane.waiters, turn);
        co_await turn.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (lane.gathering == batch) lane.gathering.reset();
    ++lane.batches_in_flight;
    // The requests of a batch came concurrently, so any order is one they could have run in
    // alone; the order of the rows they update keeps two transactions from deadlocking.
    std::stable_sort(batch->begin(), batch->end(), [](const Batched* a, const Batched* b) {
        return a->lock_order < b->lock_order;
    });
    std::vector<const std::vector<Query>*> groups;
    for (const auto* member : *batch) groups.push_back(member->queries);
    std::vector<Outcome> outcomes;
    // Whatever happens here, the members waiting on this batch get an outcome and the next
    // batch its turn: an exception must not leave them waiting for ever.
    try {
        outcomes = co_await run_gathered(groups, one_transaction);
    } catch (const std::exception& e) {
        outcomes.assign(groups.size(), ServerError{"", e.what(), ""});
    }
    --lane.batches_in_flight;
    if (!lane.waiters.empty()) {
        lane.waiters.front()->cancel();
        lane.waiters.pop_front();
    }
    for (std::size_t i = 0; i < batch->size(); ++i) {
        if ((*batch)[i] == &self) continue;
        (*batch)[i]->outcome = std::move(outcomes[i]);
        (*batch)[i]->ran->cancel();
    }
    const auto own = std::find(batch->begin(), batch->end(), &self) - batch->begin();
    co_return std::move(outcomes[static_cast<std::size_t>(own)]);
}

asio::awaitable<std::vector<Outcome>> Pool::run_gathered(
    const std::vector<const std::vector<Query>*>& groups, bool one_transaction) {
    auto lease = co_await acquire();
    if (!lease) {
        co_return std::vector<Outcome>(groups.size(), ServerError{"", lease.error().message, ""});
    }
    const auto deadline = Clock::now() + options_.timeout;
    if (!one_transaction) co_return co_await (*lease)->run_batch(groups, deadline);
    co_return co_await commit_together(**lease, groups, deadline);
}

asio::awaitable<Outcome> Pool::run_alone(Connection& connection, const std::vector<Query>& group,
                                         Clock::time_point deadline) {
    for (int attempt = 1;; ++attempt) {
        auto outcome = co_await connection.run(group, deadline);
        const auto* failure = std::get_if<ServerError>(&outcome);
        if (!failure || !aborted_by_conflict(*failure) || attempt == kMostAttempts)
            co_return outcome;
        count_conflict(*failure);
    }
}

void Pool::count_conflict(const ServerError& failure) {
    spdlog::info("PostgreSQL aborted a transaction ({} {}): it runs again", failure.sqlstate,
                 failure.message);
    ++(failure.sqlstate == kDeadlockDetected ? deadlocks_ : serialization_failures_);
}

asio::awaitable<std::vector<Outcome>> Pool::commit_together(
    Connection& connection, const std::vector<const std::vector<Query>*>& groups,
    Clock::time_point deadline) {
    // A lone request runs in the implicit transaction of its pipeline, as it would unbatched.
    if (groups.size() == 1) {
        std::vector<Outcome> outcomes;
        outcomes.push_back(co_await run_alone(connection, *groups.front(), deadline));
        co_return outcomes;
    }
    auto transaction = co_await connection.run_transaction(groups, deadline);
    if (!transaction.outcomes.empty()) co_return std::move(transaction.outcomes);
    const std::size_t failed = transaction.failed_group;
    // A deadlock, a serialization failure or a timeout may come from the batch itself (its
    // locks are held longer, and by more writes): then each runs again alone, and gets the
    // outcome it would have had unbatched.
    const bool conflict = aborted_by_conflict(transaction.failure);
    if (failed == groups.size() || conflict || transaction.failure.sqlstate == kQueryCanceled) {
        if (conflict) {
            count_conflict(transaction.failure);
        } else {
            spdlog::warn("a transaction of {} writes failed ({} {}): each runs again alone",
                         groups.size(), transaction.failure.sqlstate, transaction.failure.message);
        }
        std::vector<Outcome> outcomes;
        for (const auto* group : groups)
            outcomes.push_back(co_await run_alone(connection, *group, deadline));
        co_return outcomes;
    }
    // Otherwise the failure is that request's own, in the order the batch ran, as it would
    // have been alone after the writes before it; the others go again without it.
    std::vector<const std::vector<Query>*> others;
    for (std::size_t group = 0; group < groups.size(); ++group) {
        if (group != failed) others.push_back(groups[group]);
    }
    auto outcomes = co_await commit_together(connection, others, deadline);
    outcomes.insert(outcomes.begin() + static_cast<std::ptrdiff_t>(failed),
                    std::move(transaction.failure));
    co_return outcomes;
}

void Pool::release(std::unique_ptr<Connection> connection) {
    if (connection->broken()) {
        // The database went away or restarted: the idle connections are most likely dead
        // too. Dropping them makes the next requests connect afresh instead of failing.
        open_ -= 1 + idle_.size();
        idle_.clear();
    } else {
        idle_.push_back(std::move(connection));
    }
    publish();
    wake_one();
}

void Pool::publish() {
    published_open_.store(open_, std::memory_order_relaxed);
    published_idle_.store(idle_.size(), std::memory_order_relaxed);
}

PoolGauges Pool::gauges() const {
    return PoolGauges{.open = published_open_.load(std::memory_order_relaxed),
                      .idle = published_idle_.load(std::memory_order_relaxed),
                      .waiting = waiting_.load(std::memory_order_relaxed)};
}

Conflicts Pool::conflicts() const {
    return Conflicts{
        .deadlocks = deadlocks_.load(std::memory_order_relaxed),
        .serialization_failures = serialization_failures_.load(std::memory_order_relaxed)};
}

void Pool::wake_one() {
    if (waiters_.empty()) return;
    waiters_.front()->cancel();
    waiters_.pop_front();
}

Pool& PoolSet::pool_for(const asio::any_io_executor& executor) {
    const void* loop = &executor.context();
    std::lock_guard lock(mutex_);
    auto& pool = pools_[loop];
    if (!pool) pool = std::make_unique<Pool>(options_);
    return *pool;
}

PoolGauges PoolSet::gauges() const {
    PoolGauges sum;
    std::lock_guard lock(mutex_);
    for (const auto& [loop, pool] : pools_) {
        const auto one = pool->gauges();
        sum.open += one.open;
        sum.idle += one.idle;
        sum.waiting += one.waiting;
    }
    return sum;
}

Conflicts PoolSet::conflicts() const {
    Conflicts sum;
    std::lock_guard lock(mutex_);
    for (const auto& [loop, pool] : pools_) {
        const auto one = pool->conflicts();
        sum.deadlocks += one.deadlocks;
        sum.serialization_failures += one.serialization_failures;
    }
    return sum;
}

}  // namespace mf::pg
