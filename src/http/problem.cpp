#include "http/problem.hpp"

#include <boost/json.hpp>

namespace mf::http {

Reply problem_reply(unsigned status, std::string_view title, std::string_view detail) {
    boost::json::object body;
    body["detail"] = detail;
    body["status"] = status;
    body["title"] = title;
    body["type"] = "about:blank";
    Reply reply;
    reply.status = status;
    reply.body = boost::json::serialize(body);
    return reply;
}

}  // namespace mf::http
