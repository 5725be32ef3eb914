#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "model/result.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/store.hpp"

namespace mf::sqlite {

// One queued write: runs on the writer thread inside the batch transaction, then delivers
// its outcome to whoever awaits it.
class WriteJob {
public:
    virtual ~WriteJob() = default;
    // Does the work; returns the job's error when it failed and its changes must be undone.
    virtual const Error* run(Connection& db) = 0;
    // Delivers the outcome: the job's own error if it failed, else batch_failure when the
    // transaction did not commit, else its result. Called exactly once.
    virtual void complete(const Error* batch_failure) = 0;
};

// The single thread that writes to the database. Jobs that pile up while it works are run
// together in one transaction (group commit: one fsync per batch), each inside a savepoint
// so that a failing job undoes only its own changes. Results are delivered only once the
// batch has committed.
class Writer {
public:
    explicit Writer(std::unique_ptr<Connection> db);
    // Runs what is still queued, then stops the thread.
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Runs work(Connection&) -> Result<T> on the writer thread and resumes the caller on its
    // own executor. A SqliteError thrown by work becomes the job's error.
    template <class T, class Work>
    Async<T> submit(Work work);

private:
    template <class T, class Work, class Handler>
    class Job;

    void enqueue(std::unique_ptr<WriteJob> job);
    void loop();
    void run_batch(std::span<const std::unique_ptr<WriteJob>> jobs);

    std::unique_ptr<Connection> db_;
    std::mutex mutex_;
    std::condition_variable work_available_;
    std::vector<std::unique_ptr<WriteJob>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

template <class T, class Work>
Result<T> run_guarded(Work& work, Connection& db) {
    try {
        return work(db);
    } catch (const SqliteError& e) {
        return to_error(e);
    } catch (const std::exception& e) {
        return Error::internal(e.what());
    }
}

template <class T, class Work, class Handler>
class Writer::Job final : public WriteJob {
public:
    Job(Work work, Handler handler)
        : work_(std::move(work)),
          handler_(std::move(handler)),
          // Keeps the caller's event loop alive until the outcome has been posted to it.
          work_guard_(
              boost::asio::make_work_guard(boost::asio::get_associated_executor(handler_))) {}

    const Error* run(Connection& db) override {
        result_.emplace(run_guarded<T>(work_, db));
        return result_->ok() ? nullptr : &result_->error();
    }

    void complete(const Error* batch_failure) override {
        const bool failed_alone = result_ && !result_->ok();
        Result<T> outcome =
            (batch_failure && !failed_alone) ? Result<T>(*batch_failure) : std::move(*result_);
        boost::asio::post(work_guard_.get_executor(),
                          [handler = std::move(handler_), outcome = std::move(outcome)]() mutable {
                              std::move(handler)(std::move(outcome));
                          });
        work_guard_.reset();
    }

private:
    Work work_;
    Handler handler_;
    decltype(boost::asio::make_work_guard(
        boost::asio::get_associated_executor(std::declval<Handler&>()))) work_guard_;
    std::optional<Result<T>> result_;
};

template <class T, class Work>
Async<T> Writer::submit(Work work) {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
        [this](auto handler, Work work) {
            using Handler = decltype(handler);
            enqueue(std::make_unique<Job<T, Work, Handler>>(std::move(work), std::move(handler)));
        },
        boost::asio::use_awaitable, std::move(work));
}

}  // namespace mf::sqlite
