#include "api/reply.hpp"

#include "api/json_writer.hpp"
#include "http/problem.hpp"

namespace mf::api {
namespace {

// E2 (docs/api.md#errors): a JSON string holding {"err_msg": ...}.
http::Reply db_error(unsigned status, std::string_view message) {
    JsonWriter out;
    out.begin_object();
    out.key("err_msg").string(message);
    out.end_object();
    return json_reply(double_encoded(out.text()), status);
}

}  // namespace

http::Reply json_reply(std::string body, unsigned status) {
    http::Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    return reply;
}

std::string double_encoded(std::string_view json) {
    return json_string(json);
}

http::Reply error_reply(const Error& error) {
    switch (error.kind) {
        case ErrorKind::not_found:
            return json_reply("{}", 404);
        case ErrorKind::missing_parent:
            return db_error(404, error.message);
        case ErrorKind::already_exists:
            return db_error(409, error.message);
        case ErrorKind::register_first: {
            JsonWriter out;
            out.begin_object();
            out.key("message").string(error.message);
            out.end_object();
            auto reply = json_reply(out.take(), 400);
            reply.version_header = false;
            return reply;
        }
        case ErrorKind::invalid:
            return json_reply(json_string(error.message), 400);
        case ErrorKind::unprocessable:
            return json_reply(json_string(error.message), 422);
        case ErrorKind::retry_conflict:
            return json_reply(json_string(error.message), 409);
        case ErrorKind::unavailable: {
            // The Metaflow client retries 503 with backoff.
            auto reply = http::problem_reply(503, "Service Unavailable", error.message);
            reply.headers.emplace_back("Retry-After", "1");
            return reply;
        }
        case ErrorKind::storage_full:
            return http::problem_reply(507, "Insufficient Storage", error.message);
        case ErrorKind::internal:
            break;
    }
    return http::problem_reply(500, "Internal Server Error", error.message);
}

}  // namespace mf::api
