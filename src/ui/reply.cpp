#include "ui/reply.hpp"

namespace mf::ui {

http::Reply json_reply(const boost::json::value& body, unsigned status) {
    http::Reply reply;
    reply.status = status;
    reply.content_type = "application/json";
    reply.body = boost::json::serialize(body);
    reply.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return reply;
}

http::Reply text_reply(std::string body, bool version_header, unsigned status) {
    http::Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    reply.version_header = version_header;
    return reply;
}

}  // namespace mf::ui
