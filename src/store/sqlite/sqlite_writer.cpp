#include "store/sqlite/sqlite_writer.hpp"

#include <algorithm>
#include <iterator>

namespace mf::sqlite {
namespace {

// Bounds how long the first job of a large pile waits for the rest of its batch.
constexpr std::size_t kMaxBatchJobs = 512;

}  // namespace

Writer::Writer(std::unique_ptr<Connection> db) : db_(std::move(db)), thread_([this] { loop(); }) {}

Writer::~Writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_available_.notify_one();
    thread_.join();
}

void Writer::enqueue(std::unique_ptr<WriteJob> job) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(job));
            work_available_.notify_one();
            return;
        }
    }
    Error closed = Error::unavailable("the store is shutting down");
    job->complete(&closed);
}

void Writer::loop() {
    std::vector<std::unique_ptr<WriteJob>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            work_available_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued has run
            if (queue_.size() <= kMaxBatchJobs) {
                batch.swap(queue_);
            } else {
                auto end = queue_.begin() + kMaxBatchJobs;
                batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
                queue_.erase(queue_.begin(), end);
            }
        }
        run_batch(batch);
        batch.clear();
    }
}

void Writer::run_batch(std::span<const std::unique_ptr<WriteJob>> jobs) {
    std::size_t next = 0;
    while (next < jobs.size()) {
        const std::size_t first = next;
        std::optional<Error> failure;
        try {
            db_->prepare("BEGIN IMMEDIATE").run();
            while (next < jobs.size()) {
                WriteJob& job = *jobs[next++];
                db_->prepare("SAVEPOINT job").run();
                const Error* job_error = job.run(*db_);
                if (!db_->in_transaction()) {
                    // Disk full and I/O errors make SQLite roll back the whole transaction:
                    // the jobs before this one were undone with it. The rest of the batch
                    // starts over in a new transaction.
                    failure = job_error
                                  ? *job_error
                                  : Error::unavailable("the write transaction was rolled back");
                    break;
                }
                if (job_error) db_->prepare("ROLLBACK TO job").run();
                db_->prepare("RELEASE job").run();
            }
            if (!failure) db_->prepare("COMMIT").run();
        } catch (const SqliteError& e) {
            failure = to_error(e);
            if (db_->in_transaction()) {
                try {
                    db_->execute_script("ROLLBACK");
                } catch (const SqliteError&) {
                    // The connection cannot even roll back; the next BEGIN reports why.
                }
            }
            if (next == first)
                next = jobs.size();  // BEGIN failed: nothing of this batch can be written
        }
        for (std::size_t i = first; i < next; ++i) jobs[i]->complete(failure ? &*failure : nullptr);
    }
}

}  // namespace mf::sqlite
