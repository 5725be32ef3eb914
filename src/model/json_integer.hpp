#pragma once

#include <cstdint>
#include <optional>

#include <boost/json/value.hpp>

namespace mf {

// An integer sent as a JSON number or as the decimal text of one (cursors and trigger payloads
// carry both); nullopt for anything else, fractions and values beyond int64 included.
std::optional<std::int64_t> json_integer(const boost::json::value& value);

}  // namespace mf
