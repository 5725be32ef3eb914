#pragma once

// A websocket client for the realtime tests: Beast's, synchronous, with a receive timeout.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mf::testing {

class WsClient {
public:
    // Connects to ws://127.0.0.1:port<target> with extra request headers. With a small
    // receive_buffer the kernel holds few unread bytes (a slow reader).
    explicit WsClient(std::uint16_t port,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      int receive_buffer = 0, const std::string& target = "/ws")
        : stream_(io_) {
        auto& socket = boost::beast::get_lowest_layer(stream_);
        socket.open(boost::asio::ip::tcp::v4());
        if (receive_buffer > 0)
            socket.set_option(boost::asio::socket_base::receive_buffer_size(receive_buffer));
        socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        set_timeout(std::chrono::seconds(10));
        stream_.set_option(boost::beast::websocket::stream_base::decorator(
            [headers](boost::beast::websocket::request_type& request) {
                for (const auto& [name, value] : headers) request.set(name, value);
            }));
        stream_.handshake("127.0.0.1:" + std::to_string(port), target);
    }

    void send(const std::string& text) {
        stream_.text(true);
        stream_.write(boost::asio::buffer(text));
    }

    void subscribe(const std::string& uuid, const std::string& resource,
                   std::optional<boost::json::value> since = std::nullopt) {
        boost::json::object message{{"type", "SUBSCRIBE"}, {"uuid", uuid}, {"resource", resource}};
        if (since) message["since"] = *since;
        send(boost::json::serialize(message));
    }

    void unsubscribe(const std::string& uuid) {
        send(boost::json::serialize(boost::json::object{{"type", "UNSUBSCRIBE"}, {"uuid", uuid}}));
    }

    // The next text frame, or nullopt when none comes within the timeout or the socket
    // closed.
    std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        set_timeout(timeout);
        boost::beast::flat_buffer buffer;
        boost::system::error_code error;
        stream_.read(buffer, error);
        if (error) {
            last_error_ = error;
            return std::nullopt;
        }
        return boost::beast::buffers_to_string(buffer.data());
    }

    // Sends __ping__ and returns every frame before the __pong__: what the server pushed
    // for the requests it had read before the ping. Fails the test without a __pong__.
    std::vector<boost::json::object> sync() {
        send("__ping__");
        std::vector<boost::json::object> frames;
        while (auto text = next()) {
            if (*text == "__pong__") return frames;
            frames.push_back(boost::json::parse(*text).as_object());
        }
        ADD_FAILURE() << "no __pong__: " << last_error_.message();
        return frames;
    }

    // Frames until one satisfies `done` (included), within the timeout; fails the test
    // otherwise.
    std::vector<boost::json::object> until(
        const std::function<bool(const boost::json::object&)>& done,
        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::vector<boost::json::object> frames;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto text = next(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!text) break;
            if (*text == "__pong__") continue;
            frames.push_back(boost::json::parse(*text).as_object());
            if (done(frames.back())) return frames;
        }
        ADD_FAILURE() << "the expected frame did not come; " << frames.size() << " others did";
        return frames;
    }

    const boost::system::error_code& last_error() const { return last_error_; }
    // The code of the server's close frame, once next() saw the socket close.
    std::uint16_t close_code() const { return stream_.reason().code; }

private:
    void set_timeout(std::chrono::milliseconds timeout) {
        timeval value{};
        value.tv_sec = static_cast<long>(timeout.count() / 1000);
        value.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
        if (value.tv_sec == 0 && value.tv_usec == 0) value.tv_usec = 1000;
        auto& socket = boost::beast::get_lowest_layer(stream_);
        setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
    }

    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> stream_;
    boost::system::error_code last_error_;
};

// A frame's uuid, type and resource, for messages.
inline std::string describe(const boost::json::object& frame) {
    return boost::json::serialize(frame.at("uuid")) + " " +
           boost::json::serialize(frame.at("type")) + " " +
           boost::json::serialize(frame.at("resource"));
}

}  // namespace mf::testing
