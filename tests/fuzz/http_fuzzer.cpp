// libFuzzer target: raw bytes as they arrive on a connection, through Beast's request
// parser with the server's limits, then the request conversion of src/http/server.cpp,
// mf::http::Pipeline and the real API routes over a SQLite store. Several pipelined
// requests per input are served in order, as on one kept-alive connection.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <sstream>

#include "harness.hpp"
#include "http/server.hpp"
#include "http/url.hpp"

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// As Server::Impl::to_request: a malformed query string is answered 400 without routing.
bool to_request(bhttp::request<bhttp::string_body>& message, mf::http::Request& request) {
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
        request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    auto question = request.target.find('?');
    if (question != std::string::npos) {
        auto query = mf::http::parse_query(std::string_view(request.target).substr(question + 1));
        if (!query) return false;
        request.query = std::move(*query);
    }
    request.body = std::move(message.body());
    return true;
}

// As Server::Impl::to_response, serialized the way Beast writes it to the socket.
void write_response(mf::http::Reply&& reply, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(reply.status), version};
    response.set(bhttp::field::content_type, reply.content_type);
    if (reply.version_header) response.set("METADATA_SERVICE_VERSION", "2.5.1");
    for (auto& [name, value] : reply.headers) response.set(name, value);
    response.body() = std::move(reply.body);
    response.keep_alive(keep_alive && !reply.close_connection);
    response.prepare_payload();
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
        mf::http::Request request;
        mf::http::Reply reply;
        if (!to_request(message, request)) {
            reply.status = 400;
            reply.body = "\"malformed percent-encoding in query string\"";
        } else {
            reply = harness.handle(request);
        }
        write_response(std::move(reply), version, keep_alive);
        if (!keep_alive) break;
    }
    return 0;
}
