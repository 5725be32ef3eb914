#pragma once

#include <string>

#include "http/message.hpp"
#include "model/error.hpp"

namespace mf::api {

// 200 with a JSON body, sent as text/plain like the reference (docs/api.md#conventions).
http::Reply json_reply(std::string body, unsigned status = 200);

// The JSON string literal holding `json`, the reference's "double-encoded" form.
std::string double_encoded(std::string_view json);

// The one place where an Error becomes a status code and a body (docs/api.md#errors).
http::Reply error_reply(const Error& error);

}  // namespace mf::api
