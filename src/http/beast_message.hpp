#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string_view>

#include "http/message.hpp"

// Between Beast's messages and the server's own Request and Reply: used by the server and by
// the HTTP fuzzer, which feeds the same conversion without sockets.
namespace mf::http {

namespace bhttp = boost::beast::http;

// The request handlers see, taking the message's body. Nothing when its query string is
// malformed, which is answered 400 without routing.
std::optional<Request> to_request(bhttp::request<bhttp::string_body>& message);

// The status line and headers of the reply, for a body of type Body.
template <class Body>
bhttp::response<Body> response_head(const Reply& reply, unsigned version,
                                    std::string_view service_version) {
    bhttp::response<Body> response{static_cast<bhttp::status>(reply.status), version};
    response.set(bhttp::field::content_type, reply.content_type);
    if (reply.version_header) response.set("METADATA_SERVICE_VERSION", service_version);
    for (auto& [name, value] : reply.headers) response.set(name, value);
    return response;
}

// The whole response of a reply whose body is complete.
bhttp::response<bhttp::string_body> to_response(Reply&& reply, unsigned version, bool keep_alive,
                                                std::string_view service_version);

}  // namespace mf::http
