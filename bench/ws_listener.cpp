// The listening side of bench/ws_latency.py: N websockets subscribed to the home page's
// resource, timing every INSERT frame's arrival. The script's own asyncio client spent
// 111-212 us of CPU a frame, half a core at 200 sockets on the machine the server shares,
// so it decided much of the p99 it measured; this one, a single thread on one io_context,
// spends 11-21 us, most of it in the kernel's receive calls.
//
//   ws-latency-listener --port UI_PORT --sockets 200 --resource '/runs?...'
//
// Socket i subscribes as uuid "home-i" and then pings; "ready" goes to stdout once every
// socket's pong came back (the server answers a ping after the subscriptions before it).
// On SIGTERM or the end of stdin (a pipe or a terminal) it prints one line a frame, "RUN_NUMBER
// MONOTONIC_SECONDS", then "cpu_seconds S" (its user and system time since "ready"), and exits 0.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::ip::tcp;
using Stream = websocket::stream<beast::tcp_stream>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::size_t sockets = 0;
    std::string resource;
    std::string api_key;
};

// std::chrono::steady_clock is CLOCK_MONOTONIC on Linux, the clock of Python's
// time.monotonic(), so the script compares these times with its write acknowledgements.
struct Arrival {
    std::int64_t run_number;
    std::chrono::steady_clock::time_point at;
};

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The run number of an INSERT frame for `uuid`, e.g.
// {"type": "INSERT", "uuid": "home-3", "resource": "/runs", "data": {"run_number": 7, ...}}.
// Parsed whole into a buffer on the stack: about 1.5 us a frame, 7% of the listener's CPU
// (perf), and no reliance on the order or spacing the server writes keys in.
std::optional<std::int64_t> inserted_run(std::string_view text, std::string_view uuid) {
    unsigned char buffer[16384];
    json::monotonic_resource memory(buffer, sizeof buffer);
    boost::system::error_code error;
    const auto frame = json::parse(text, error, &memory);
    if (error || !frame.is_object()) return std::nullopt;
    const auto& object = frame.get_object();
    const auto* type = object.if_contains("type");
    const auto* id = object.if_contains("uuid");
    const auto* data = object.if_contains("data");
    if (!type || !type->is_string() || type->get_string() != "INSERT" || !id || !id->is_string() ||
        id->get_string() != uuid || !data || !data->is_object())
        return std::nullopt;
    const auto* run_number = data->get_object().if_contains("run_number");
    if (!run_number || !run_number->is_int64()) return std::nullopt;
    return run_number->get_int64();
}

class Listener {
public:
    Listener(asio::io_context& io, Options options)
        : io_(io),
          options_(std::move(options)),
          signals_(io, SIGTERM, SIGINT),
          input_(io, dup(0)) {}

    asio::awaitable<void> run() {
        watch_for_stop();
        tcp::resolver resolver(io_);
        const auto endpoints = co_await resolver.async_resolve(
            options_.host, std::to_string(options_.port), asio::use_awaitable);
        for (std::size_t i = 0; i < options_.sockets && !stopping_; ++i) {
            const auto uuid = "home-" + std::to_string(i);
            auto socket = co_await open(endpoints);
            // stop() closes the sockets in sockets_ only: one opened after it must not stay
            // open, or its read would keep the io_context running.
            if (stopping_) break;
            socket->text(true);
            json::object subscribe{
                {"type", "SUBSCRIBE"}, {"uuid", uuid}, {"resource", options_.resource}};
            co_await socket->async_write(asio::buffer(json::serialize(subscribe)),
                                         asio::use_awaitable);
            co_await socket->async_write(asio::buffer(std::string_view("__ping__")),
                                         asio::use_awaitable);
            if (stopping_) break;
            sockets_.push_back(std::move(socket));
            asio::co_spawn(io_, read_frames(*sockets_.back(), uuid), asio::detached);
        }
    }

    // Closing every socket ends every read, so the io_context runs out of work and returns.
    void stop() {
        if (stopping_) return;
        stopping_ = true;
        cpu_at_stop_ = cpu_seconds();
        signals_.cancel();
        input_.cancel();
        for (auto& socket : sockets_) beast::get_lowest_layer(*socket).close();
    }

    // After the io_context ran out of work: the arrivals and the CPU time since "ready".
    void print() const {
        for (const auto& arrival : arrivals_) {
            const std::chrono::duration<double> since_boot = arrival.at.time_since_epoch();
            std::printf("%lld %.6f\n", static_cast<long long>(arrival.run_number),
                        since_boot.count());
        }
        std::printf("cpu_seconds %.6f\n", cpu_at_stop_ - cpu_at_ready_);
        std::fflush(stdout);
    }

private:
    // Connects and upgrades, retrying a 503 for a while: /ws opens once the service watches
    // changes, which on PostgreSQL may come a moment after its API answers.
    asio::awaitable<std::unique_ptr<Stream>> open(const tcp::resolver::results_type& endpoints) {
        for (int attempt = 1;; ++attempt) {
            auto socket = std::make_unique<Stream>(io_);
            socket->set_option(
                websocket::stream_base::timeout::suggested(beast::role_type::client));
            if (!options_.api_key.empty()) {
                socket->set_option(websocket::stream_base::decorator(
                    [key = options_.api_key](websocket::request_type& request) {
                        request.set("x-api-key", key);
                    }));
            }
            co_await beast::get_lowest_layer(*socket).async_connect(endpoints, asio::use_awaitable);
            websocket::response_type response;
            const auto host = options_.host + ":" + std::to_string(options_.port);
            auto [error] = co_await socket->async_handshake(response, host, "/ws", kTuple);
            if (!error) co_return socket;
            if (response.result_int() != 503 || attempt == 50)
                throw boost::system::system_error(error);
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::use_awaitable);
        }
    }

    asio::awaitable<void> read_frames(Stream& socket, std::string uuid) {
        beast::flat_buffer buffer;
        bool subscribed = false;
        for (;;) {
            auto [error, size] = co_await socket.async_read(buffer, kTuple);
            const auto at = std::chrono::steady_clock::now();
            if (error) {
                if (!stopping_)
                    std::fprintf(stderr, "%s: %s\n", uuid.c_str(), error.message().c_str());
                co_return;
            }
            const auto data = buffer.cdata();
            const std::string_view text(static_cast<const char*>(data.data()), data.size());
            if (text == "__pong__") {
                if (!subscribed) {
                    subscribed = true;
                    if (++subscribed_ == options_.sockets) announce_ready();
                }
            } else if (auto run_number = inserted_run(text, uuid)) {
                arrivals_.push_back({*run_number, at});
            }
            buffer.consume(size);
        }
    }

    void announce_ready() {
        cpu_at_ready_ = cpu_seconds();
        std::printf("ready\n");
        std::fflush(stdout);
    }

    void watch_for_stop() {
        signals_.async_wait([this](boost::system::error_code error, int) {
            if (!error) stop();
        });
        asio::co_spawn(
            io_,
            [this]() -> asio::awaitable<void> {
                char ignored[256];
                for (;;) {
                    auto [error, size] =
                        co_await input_.async_read_some(asio::buffer(ignored), kTuple);
                    if (error) break;
                }
                stop();
            },
            asio::detached);
    }

    asio::io_context& io_;
    Options options_;
    asio::signal_set signals_;
    asio::posix::stream_descriptor input_;
    std::vector<std::unique_ptr<Stream>> sockets_;
    std::vector<Arrival> arrivals_;
    std::size_t subscribed_ = 0;
    bool stopping_ = false;
    double cpu_at_ready_ = 0;
    double cpu_at_stop_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"Websockets subscribed to the home page's resource, timing INSERT frames"};
    app.add_option("--host", options.host, "The UI listener's address");
    app.add_option("--port", options.port, "The UI listener's port")->required();
    app.add_option("--sockets", options.sockets, "How many websockets")
        ->required()
        ->check(CLI::PositiveNumber);
    app.add_option("--resource", options.resource, "The resource each subscribes to")->required();
    app.add_option("--api-key", options.api_key, "Sent as the x-api-key header, if given");
    CLI11_PARSE(app, argc, argv);

    asio::io_context io(1);
    Listener listener(io, options);
    bool failed = false;
    asio::co_spawn(io, listener.run(), [&](std::exception_ptr error) {
        if (!error) return;
        failed = true;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& opening) {
            std::fprintf(stderr, "opening the websockets: %s\n", opening.what());
        }
        listener.stop();
    });
    io.run();
    if (failed) return 1;
    listener.print();
    return 0;
}
