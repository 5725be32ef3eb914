#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>

#include "http/beast_message.hpp"

namespace mf::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Reply limit_error(unsigned status, std::string_view what) {
    Reply reply;
    reply.status = status;
    reply.body = "\"" + std::string(what) + "\"";
    reply.version_header = false;
    reply.close_connection = true;
    return reply;
}

}  // namespace

struct Server::Impl {
    struct Connection {
        tcp::socket* socket = nullptr;
        bool busy = false;  // between reading a request's first byte and writing its reply
    };

    // An address served with its own options and pipeline.
    struct Listener {
        ServerOptions options;
        Pipeline pipeline;
        std::atomic<std::size_t> connections{0};
        std::uint16_t bound_port = 0;

        Listener(ServerOptions o, const Router& router)
            : options(std::move(o)),
              pipeline(router, options.access, options.metrics, options.name) {}
    };

    struct Worker {
        asio::io_context io{1};
        std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per listener
        std::list<Connection> connections;  // touched only by this worker's thread
        std::thread thread;
    };

    std::vector<std::unique_ptr<Listener>> listeners;
    std::vector<std::unique_ptr<Worker>> workers;
    std::atomic<bool> stopping{false};
    std::mutex state_mutex;
    std::condition_variable state_changed;
    bool stopped = false;
    std::size_t workers_done = 0;

    const ServerOptions& options() const { return listeners.front()->options; }

    // With SO_REUSEPORT, a second server started on a port in use would share its
    // connections unnoticed (seen in CI: another test's listener answered half of a server's
    // requests). A plain bind first makes a port in use an error, as without the option.
    static void check_port_free(const tcp::endpoint& endpoint) {
        asio::io_context io;
        tcp::acceptor probe(io);
        probe.open(endpoint.protocol());
        probe.set_option(tcp::acceptor::reuse_address(true));
        probe.bind(endpoint);
    }

    static void bind(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
        acceptor.open(endpoint.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.set_option(reuse_port(true));
        acceptor.bind(endpoint);
        acceptor.listen(asio::socket_base::max_listen_connections);
    }

    // Binds the listener's acceptor on every worker.
    void bind_listener(std::size_t index) {
        auto& listener = *listeners[index];
        auto address = asio::ip::make_address(listener.options.host);
        std::uint16_t port = listener.options.port;
        // Port 0: the kernel gives the first acceptor a port no socket uses.
        if (port != 0) check_port_free(tcp::endpoint(address, port));
        for (auto& worker : workers) {
            auto acceptor = std::make_unique<tcp::acceptor>(worker->io);
            bind(*acceptor, tcp::endpoint(address, port));
            // The first acceptor may have been given an ephemeral port; the others share it.
            port = acceptor->local_endpoint().port();
            worker->acceptors.push_back(std::move(acceptor));
        }
        listener.bound_port = port;
    }

    asio::awaitable<void> accept_loop(Worker& worker, Listener& listener, tcp::acceptor& acceptor) {
        while (!stopping) {
            auto [ec, socket] = co_await acceptor.async_accept(kTuple);
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted) co_return;
                spdlog::warn("accept failed: {}", ec.message());
                // Out of descriptors or similar: give in-flight requests a moment to end.
                asio::steady_timer pause(worker.io, std::chrono::milliseconds(50));
                co_await pause.async_wait(kTuple);
                continue;
            }
            boost::system::error_code ignored;
            if (listener.connections >= listener.options.max_connections) {
                spdlog::warn("{}: {} connections open, refusing another", listener.options.name,
                             listener.connections.load());
                socket.close(ignored);
                continue;
            }
            socket.set_option(tcp::no_delay(true), ignored);
            asio::co_spawn(worker.io, session(worker, listener, std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> session(Worker& worker, Listener& listener, tcp::socket socket) {
        const auto& options = listener.options;
        asio::ip::address peer;
        {
            boost::system::error_code ec;
            auto endpoint = socket.remote_endpoint(ec);
            if (!ec) peer = endpoint.address();
        }
        ++listener.connections;
        if (options.metrics) options.metrics->connection_opened();
        beast::tcp_stream tcp_stream(std::move(socket));
        auto self = worker.connections.insert(worker.connections.end(),
                                              Connection{&tcp_stream.socket(), true});
        if (options.tls) {
            beast::ssl_stream<beast::tcp_stream&> tls_stream(tcp_stream, *options.tls);
            tcp_stream.expires_after(options.header_timeout);
            auto [handshake_ec] =
                co_await tls_stream.async_handshake(asio::ssl::stream_base::server, kTuple);
            if (!handshake_ec) {
                co_await serve_requests(tls_stream, *self, peer, listener);
                tcp_stream.expires_after(options.header_timeout);
                co_await tls_stream.async_shutdown(kTuple);
            }
        } else {
            co_await serve_requests(tcp_stream, *self, peer, listener);
        }
        worker.connections.erase(self);
        --listener.connections;
        if (options.metrics) options.metrics->connection_closed();
        boost::system::error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    // Reads requests and writes replies until the client or the server ends the
    // connection; the same for plain TCP and TLS.
    template <class Stream>
    asio::awaitable<void> serve_requests(Stream& stream, Connection& self,
                                         const asio::ip::address& peer, Listener& listener) {
        const auto& options = listener.options;
        auto& timer = beast::get_lowest_layer(stream);
        beast::flat_buffer buffer;
        while (!stopping) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
            parser.body_limit(options.body_limit);

            self.busy = false;
            timer.expires_after(options.idle_timeout);
            auto [header_ec, header_bytes] =
                co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
            self.busy = true;
            std::optional<Reply> early;
            if (header_ec == bhttp::error::body_limit) {
                early = limit_error(413, "request body too large");
            } else if (header_ec == bhttp::error::header_limit) {
                early = limit_error(431, "request header fields too large");
            } else if (header_ec) {
                if (header_ec != bhttp::error::end_of_stream &&
                    header_ec != beast::error::timeout &&
                    header_ec != asio::error::operation_aborted &&
                    header_ec != asio::error::connection_reset &&
                    header_ec != asio::ssl::error::stream_truncated) {
                    early = limit_error(400, "malformed HTTP request");
                } else {
                    co_return;
                }
            }
            if (!early) {
                timer.expires_after(options.header_timeout);
                auto [body_ec, body_bytes] =
                    co_await bhttp::async_read(stream, buffer, parser, kTuple);
                if (body_ec == bhttp::error::body_limit) {
                    early = limit_error(413, "request body too large");
                } else if (body_ec) {
                    co_return;
                }
            }

            Reply reply;
            unsigned version = 11;
            bool keep_alive = false;
            if (early) {
                reply = std::move(*early);
            } else {
                auto& message = parser.get();
                version = message.version();
                keep_alive = message.keep_alive();
                auto request = to_request(message);
                // co_await stays out of the conditional operator: GCC 12 miscompiles it.
                if (!request) {
                    reply = limit_error(400, "malformed percent-encoding in query string");
                    reply.close_connection = false;
                } else {
                    reply = co_await listener.pipeline.handle(*request, peer);
                }
            }
            if (reply.take_over) {
                if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
                    stream.expires_never();
                    // A named socket: GCC 12 destroys temporaries of a co_await's operand twice.
                    auto socket = stream.release_socket();
                    co_await reply.take_over(socket);
                    co_return;
                } else {
                    reply = limit_error(400, "websockets need a plain HTTP listener");
                }
            }
            const bool keep = keep_alive && !stopping;
            bool kept = false;
            // No `continue` out of a branch with a co_await: GCC 12 then destroys the
            // branch's locals twice.
            if (reply.more_body) {
                kept = co_await write_streamed(stream, reply, version, keep, options);
            } else {
                kept = co_await write_whole(stream, reply, version, keep, options);
            }
            if (!kept) co_return;
        }
    }

    // Writes a reply with its whole body; returns whether the connection may carry another
    // request.
    template <class Stream>
    static asio::awaitable<bool> write_whole(Stream& stream, Reply& reply, unsigned version,
                                             bool keep_alive, const ServerOptions& options) {
        auto response = to_response(std::move(reply), version, keep_alive, options.service_version);
        beast::get_lowest_layer(stream).expires_after(options.header_timeout);
        auto [write_ec, written] = co_await bhttp::async_write(stream, response, kTuple);
        co_return !write_ec && response.keep_alive();
    }

    // Ends a connection with a TCP reset rather than the orderly close that, on HTTP/1.0
    // (no chunks, the close ends the body), would make a body cut short look complete.
    static void reset(tcp::socket& socket) {
        boost::system::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
    }

    // Writes a reply whose body comes in parts, each part as it is produced: chunked on
    // HTTP/1.1; on HTTP/1.0, which has no chunks, the end of the connection ends the body.
    // A part that fails resets the connection, so the client sees the body fail.
    // Returns whether the connection may carry another request.
    template <class Stream>
    static asio::awaitable<bool> write_streamed(Stream& stream, Reply& reply, unsigned version,
                                                bool keep_alive, const ServerOptions& options) {
        auto& timer = beast::get_lowest_layer(stream);
        const bool chunked = version >= 11;
        auto head = response_head<bhttp::empty_body>(reply, version, options.service_version);
        head.keep_alive(chunked && keep_alive && !reply.close_connection);
        head.chunked(chunked);
        bhttp::response_serializer<bhttp::empty_body> serializer(head);
        timer.expires_after(options.header_timeout);
        auto [head_ec, head_bytes] = co_await bhttp::async_write_header(stream, serializer, kTuple);
        if (head_ec) co_return false;
        std::optional<std::string> part = std::move(reply.body);
        while (part) {
            if (!part->empty()) {
                timer.expires_after(options.header_timeout);
                boost::system::error_code write_ec;
                if (chunked) {
                    std::tie(write_ec, std::ignore) = co_await asio::async_write(
                        stream, bhttp::make_chunk(asio::buffer(*part)), kTuple);
                } else {
                    std::tie(write_ec, std::ignore) =
                        co_await asio::async_write(stream, asio::buffer(*part), kTuple);
                }
                if (write_ec) co_return false;
            }
            try {
                part = co_await reply.more_body();
            } catch (const std::exception& e) {
                spdlog::error("{}: reply cut short: {}", options.name, e.what());
                reset(beast::get_lowest_layer(stream).socket());
                co_return false;
            }
        }
        if (chunked) {
            timer.expires_after(options.header_timeout);
            auto [last_ec, last_bytes] =
                co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
            if (last_ec) co_return false;
        }
        co_return head.keep_alive();
    }

    // Runs on each worker's own thread.
    void begin_stop(Worker& worker) {
        boost::system::error_code ignored;
        for (auto& acceptor : worker.acceptors) acceptor->close(ignored);
        for (auto& connection : worker.connections) {
            if (!connection.busy) connection.socket->cancel(ignored);
        }
    }
};

std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& certificate_chain,
                                                     const std::string& private_key) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    try {
        context->use_certificate_chain_file(certificate_chain);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load TLS certificate " + certificate_chain + ": " +
                                 e.what());
    }
    try {
        context->use_private_key_file(private_key, asio::ssl::context::pem);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load TLS key " + private_key + ": " + e.what());
    }
    return context;
}

Server::Server(ServerOptions options, const Router& router) : impl_(std::make_unique<Impl>()) {
    add_listener(std::move(options), router);
}

Server::~Server() {
    stop();
}

std::size_t Server::add_listener(ServerOptions options, const Router& router) {
    impl_->listeners.push_back(std::make_unique<Impl::Listener>(std::move(options), router));
    return impl_->listeners.size() - 1;
}

void Server::start() {
    auto& impl = *impl_;
    unsigned threads = impl.options().threads ? impl.options().threads
                                              : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) impl.workers.push_back(std::make_unique<Impl::Worker>());
    try {
        for (std::size_t i = 0; i < impl.listeners.size(); ++i) impl.bind_listener(i);
    } catch (...) {
        // No worker runs yet: without them, stop() has nothing to drain and returns at once.
        impl.workers.clear();
        throw;
    }
    for (auto& worker : impl.workers) {
        for (std::size_t i = 0; i < impl.listeners.size(); ++i) {
            asio::co_spawn(worker->io,
                           impl.accept_loop(*worker, *impl.listeners[i], *worker->acceptors[i]),
                           asio::detached);
        }
        worker->thread = std::thread([&impl, &io = worker->io] {
            io.run();
            std::lock_guard lock(impl.state_mutex);
            ++impl.workers_done;
            impl.state_changed.notify_all();
        });
    }
}

std::uint16_t Server::port(std::size_t listener) const {
    return impl_->listeners.at(listener)->bound_port;
}

std::vector<asio::any_io_executor> Server::executors() const {
    std::vector<asio::any_io_executor> loops;
    for (const auto& worker : impl_->workers) loops.push_back(worker->io.get_executor());
    return loops;
}

void Server::stop() {
    auto& impl = *impl_;
    {
        std::lock_guard lock(impl.state_mutex);
        if (impl.stopped) return;
    }
    impl.stopping = true;
    for (auto& worker : impl.workers) {
        asio::post(worker->io, [&impl, &w = *worker] { impl.begin_stop(w); });
    }
    {
        std::unique_lock lock(impl.state_mutex);
        bool drained = impl.state_changed.wait_for(lock, impl.options().drain_timeout, [&] {
            return impl.workers_done == impl.workers.size();
        });
        if (!drained) {
            spdlog::warn("{}: requests still running after {} s, closing them", impl.options().name,
                         impl.options().drain_timeout.count());
            for (auto& worker : impl.workers) worker->io.stop();
        }
    }
    for (auto& worker : impl.workers) {
        if (worker->thread.joinable()) worker->thread.join();
    }
    {
        std::lock_guard lock(impl.state_mutex);
        impl.stopped = true;
    }
    impl.state_changed.notify_all();
}

bool Server::draining() const {
    return impl_->stopping;
}

void Server::wait() {
    std::unique_lock lock(impl_->state_mutex);
    impl_->state_changed.wait(lock, [&] { return impl_->stopped; });
}

}  // namespace mf::http
