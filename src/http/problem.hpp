#pragma once

#include <string_view>

#include "http/message.hpp"

namespace mf::http {

// The JSON error body used for failures the reference has no shape of its own for:
// {"detail": ..., "status": N, "title": ..., "type": "about:blank"} (RFC 7807 fields).
Reply problem_reply(unsigned status, std::string_view title, std::string_view detail);

}  // namespace mf::http
