#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mf::http {

using Fields = std::vector<std::pair<std::string, std::string>>;

// A request as handlers see it: no Beast types, so api/ compiles without Beast.
struct Request {
    std::string method;
    std::string target;  // as received, with the query string
    std::string route;   // the matched route template, e.g. "/flows/{flow_id}"
    Fields path_params;  // percent-decoded, in template order
    Fields query;        // percent-decoded, in order of appearance
    Fields headers;      // names lower-cased
    std::string body;
    std::string remote_address;

    // The path parameter `name`; the router guarantees it exists for the matched route.
    const std::string& param(std::string_view name) const;
    const std::string* header(std::string_view lower_case_name) const;
    bool has_query(std::string_view key) const;
    const std::string* query_value(std::string_view key) const;
};

struct Reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "text/plain; charset=utf-8";
    // Most routes carry METADATA_SERVICE_VERSION; the exceptions are listed in
    // docs/api.md#conventions.
    bool version_header = true;
    bool close_connection = false;
    Fields headers;  // extra response headers
    // Set for a body written as it is produced (chunked): `body` is its first part, and each
    // call gives the next one, nullopt after the last. A call that throws cuts the body short
    // (the connection is reset), so the client sees the reply fail.
    std::function<boost::asio::awaitable<std::optional<std::string>>()> more_body;
    // Set for a reply that takes the connection over (a websocket upgrade): the server hands
    // it the connection's socket instead of writing a reply, and the connection is its until
    // the call returns. Only plain HTTP listeners hand sockets over; a TLS one answers 400.
    std::function<boost::asio::awaitable<void>(boost::asio::ip::tcp::socket&)> take_over;
};

using Handler = std::function<boost::asio::awaitable<Reply>(Request&)>;

}  // namespace mf::http
