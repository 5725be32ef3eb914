// libFuzzer target: raw bytes as they arrive on a connection, through Beast's request
// parser with the server's limits, then the server's request conversion (http/beast_message),
// mf::http::Pipeline and the real API routes over a SQLite store. Several pipelined
// requests per input are served in order, as on one kept-alive connection.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <sstream>

#include "harness.hpp"
#include "http/beast_message.hpp"
#include "http/server.hpp"

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Serialized the way Beast writes it to the socket.
void write_response(mf::http::Reply&& reply, unsigned version, bool keep_alive) {
    const mf::http::ServerOptions options;
    auto response =
        mf::http::to_response(std::move(reply), version, keep_alive, options.service_version);
    std::ostringstream out;
    out << response;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& harness = mf::fuzz::Harness::instance();
    const mf::http::ServerOptions limits;
    beast::flat_buffer buffer;
    auto input = mf::fuzz::bytes(data, size);
    buffer.commit(beast::net::buffer_copy(buffer.prepare(input.size()),
                                          beast::net::buffer(input.data(), input.size())));
    for (int served = 0; served < 8 && buffer.size() > 0; ++served) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
        parser.body_limit(limits.body_limit);
        parser.eager(true);
        beast::error_code ec;
        while (!ec && !parser.is_done() && buffer.size() > 0) {
            auto used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec == bhttp::error::need_more) {
                ec = {};
                if (used == 0) break;
            }
        }
        if (!parser.is_done()) {
            if (!ec) parser.put_eof(ec);
            if (!parser.is_done()) return 0;  // the server answers 400/413/431 or waits
        }
        auto& message = parser.get();
        unsigned version = message.version();
        bool keep_alive = message.keep_alive();
        auto request = mf::http::to_request(message);
        mf::http::Reply reply;
        if (!request) {
            reply.status = 400;
            reply.body = "\"malformed percent-encoding in query string\"";
        } else {
            reply = harness.handle(*request);
        }
        write_response(std::move(reply), version, keep_alive);
        if (!keep_alive) break;
    }
    return 0;
}
