#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mf::datastore {

// A few threads for the blocking work of reading a datastore (object reads, gunzip,
// unpickling), so that the server's event loops never wait on S3 or a disk.
class WorkerPool {
public:
    explicit WorkerPool(std::size_t threads) : pool_(threads) {}
    ~WorkerPool() { pool_.join(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // From a coroutine: `auto value = co_await pool.run([&] { return datastore.dag(task); });`
    // runs the work on the pool and resumes the coroutine on its own executor. Let the work
    // capture the coroutine's variables by reference (they live until it resumes): GCC 12
    // destroys a lambda that holds copies twice when it is a temporary of the co_await.
    template <class Work>
    boost::asio::awaitable<std::invoke_result_t<Work>> run(Work work) {
        using Value = std::invoke_result_t<Work>;
        return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(Value)>(
            [this](auto handler, Work work) {
                auto home = boost::asio::get_associated_executor(handler);
                boost::asio::post(
                    pool_, [handler = std::move(handler), work = std::move(work), home]() mutable {
                        Value value = work();
                        boost::asio::post(home, [handler = std::move(handler),
                                                 value = std::move(value)]() mutable {
                            std::move(handler)(std::move(value));
                        });
                    });
            },
            boost::asio::use_awaitable, std::move(work));
    }

private:
    boost::asio::thread_pool pool_;
};

}  // namespace mf::datastore
