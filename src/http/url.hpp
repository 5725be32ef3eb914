#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace mf::http {

// Percent-decodes `text`; nullopt when an escape is malformed. With plus_as_space, '+'
// decodes to ' ' as in query strings.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

// Splits "a=1&b=&c" into decoded pairs; nullopt when any part has a malformed escape.
std::optional<Fields> parse_query(std::string_view query);

}  // namespace mf::http
