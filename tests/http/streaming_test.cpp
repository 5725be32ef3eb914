// A streamed reply whose body fails after its status line went out (the store failed between
// two pages of a list): the client must see the reply fail, also on HTTP/1.0, where the end
// of the connection is the end of the body. The failure is the handler's, on a real server,
// since a store fails between two pages only by chance: the server reads the next page as
// soon as the previous one is in the socket's buffer.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <memory>
#include <stdexcept>

#include "http/server.hpp"

namespace mf::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The parts after the first of a streamed body: ",2", then "]" or a failure, then the end.
asio::awaitable<std::optional<std::string>> next_part(std::shared_ptr<int> parts_sent, bool fails) {
    const int part = (*parts_sent)++;
    if (part == 0) co_return std::string(",2");
    if (fails) throw std::runtime_error("the store failed");
    if (part == 1) co_return std::string("]");
    co_return std::nullopt;
}

http::Handler streamed(bool fails) {
    return [fails](http::Request&) -> asio::awaitable<http::Reply> {
        http::Reply reply;
        reply.body = "[1";
        auto parts_sent = std::make_shared<int>(0);
        reply.more_body = [parts_sent, fails] { return next_part(parts_sent, fails); };
        co_return reply;
    };
}

struct StreamingServer {
    http::Router router;
    std::unique_ptr<http::Server> server;

    StreamingServer() {
        router.add("GET", "/whole", streamed(false));
        router.add("GET", "/cut", streamed(true));
        http::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.threads = 1;
        server = std::make_unique<http::Server>(options, router);
        server->start();
    }
};

struct Received {
    std::string text;
    boost::system::error_code end;  // why reading stopped
};

Received exchange(std::uint16_t port, const std::string& request) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(socket, asio::buffer(request));
    Received received;
    char buffer[4096];
    while (!received.end) {
        auto n = socket.read_some(asio::buffer(buffer), received.end);
        received.text.append(buffer, n);
    }
    return received;
}

TEST(Streaming, Http10BodyEndsWithTheConnection) {
    StreamingServer service;
    auto received = exchange(service.server->port(), "GET /whole HTTP/1.0\r\n\r\n");
    EXPECT_EQ(received.end, asio::error::eof);
    EXPECT_TRUE(received.text.ends_with("\r\n\r\n[1,2]")) << received.text;
}

TEST(Streaming, Http10BodyCutShortResetsTheConnection) {
    StreamingServer service;
    auto received = exchange(service.server->port(), "GET /cut HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(received.text.starts_with("HTTP/1.0 200")) << received.text;
    // An orderly close (eof) would make "[1,2" look like the whole body.
    EXPECT_EQ(received.end, asio::error::connection_reset) << received.end.message();
}

TEST(Streaming, Http11BodyCutShortResetsTheConnection) {
    StreamingServer service;
    auto received = exchange(service.server->port(), "GET /cut HTTP/1.1\r\nHost: test\r\n\r\n");
    EXPECT_TRUE(received.text.starts_with("HTTP/1.1 200")) << received.text;
    EXPECT_EQ(received.text.find("\r\n0\r\n"), std::string::npos) << "no last chunk expected";
    EXPECT_EQ(received.end, asio::error::connection_reset) << received.end.message();
}

}  // namespace
}  // namespace mf::testing
