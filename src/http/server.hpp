#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/metrics.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"

namespace boost::asio::ssl {
class context;
}

namespace mf::http {

struct ServerOptions {
    std::string host = "0.0.0.0";
    std::uint16_t port = 8080;  // 0 picks a free port; see Server::port()
    unsigned threads = 0;       // 0: one per core
    std::size_t body_limit = 16 * 1024 * 1024;
    std::size_t header_limit = 16 * 1024;
    std::chrono::seconds header_timeout{30};  // to receive a whole request once it started
    std::chrono::seconds idle_timeout{75};    // between requests on a kept-alive connection
    std::size_t max_connections = 10'000;     // beyond this, new connections are closed at once
    std::chrono::seconds drain_timeout{30};   // stop() waits this long for in-flight requests
    std::string service_version = "2.5.1";
    std::string name = "api";  // of the listener, in logs and metrics
    AccessPolicy access;
    std::shared_ptr<Metrics> metrics;                // null: not counted
    std::shared_ptr<boost::asio::ssl::context> tls;  // set: the listener speaks TLS only
};

// A server-side TLS context for TLS 1.2 and later from PEM files; throws with a message
// naming the file that could not be loaded.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& certificate_chain,
                                                            const std::string& private_key);

// HTTP/1.1 server on Boost.Beast with one io_context and thread per worker, so the request
// path takes no locks. Each listener (the first from the constructor, more from
// add_listener) has an acceptor (SO_REUSEPORT) on every worker: all listeners share the
// workers' event loops, and with them whatever a store keeps per event loop.
class Server {
public:
    Server(ServerOptions options, const Router& router);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Another listener on the same workers, before start(); its own address, limits, access
    // policy, metrics name and TLS. `threads` and `drain_timeout` are the first listener's.
    // Returns the listener's index for port().
    std::size_t add_listener(ServerOptions options, const Router& router);

    // Binds and starts serving on background threads; throws if an address is taken.
    void start();
    // The bound port of a listener (index 0: the constructor's).
    std::uint16_t port(std::size_t listener = 0) const;
    // The event loop of each worker, once started.
    std::vector<boost::asio::any_io_executor> executors() const;
    // Stops accepting, lets in-flight requests finish (at most drain_timeout), then returns
    // once all threads ended.
    void stop();
    // True from the start of stop(): readiness checks fail while the server drains.
    bool draining() const;
    // Blocks until stop() has been called (from another thread or a signal handler).
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mf::http
