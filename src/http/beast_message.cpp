#include "http/beast_message.hpp"

#include <string>

#include "http/url.hpp"
#include "model/text.hpp"

namespace mf::http {
namespace {}  // namespace

std::optional<Request> to_request(bhttp::request<bhttp::string_body>& message) {
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
        request.headers.emplace_back(ascii_lower(field.name_string()), std::string(field.value()));
    }
    auto question = request.target.find('?');
    if (question != std::string::npos) {
        auto query = parse_query(std::string_view(request.target).substr(question + 1));
        if (!query) return std::nullopt;
        request.query = std::move(*query);
    }
    request.body = std::move(message.body());
    return request;
}

bhttp::response<bhttp::string_body> to_response(Reply&& reply, unsigned version, bool keep_alive,
                                                std::string_view service_version) {
    auto response = response_head<bhttp::string_body>(reply, version, service_version);
    response.body() = std::move(reply.body);
    response.keep_alive(keep_alive && !reply.close_connection);
    response.prepare_payload();
    return response;
}

}  // namespace mf::http
