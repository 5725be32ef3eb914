#pragma once

#include <boost/json.hpp>
#include <string>

#include "http/message.hpp"

namespace mf::ui {

// JSON as the UI backend sends it: application/json, open to every origin (CORS), with the
// service version header.
http::Reply json_reply(const boost::json::value& body, unsigned status = 200);

// Plain text, without the CORS header, as the reference's text replies.
http::Reply text_reply(std::string body, bool version_header, unsigned status = 200);

}  // namespace mf::ui
