#pragma once

#include <optional>
#include <string>

#include <boost/json/value.hpp>

namespace mf {

// The text a posted metadata `value` is stored as (docs/api.md#metadata): strings as they are,
// numbers and booleans as their text, arrays in PostgreSQL's text-array form
// (["a", "b"] -> "{a,b}"). nullopt for values the reference fails to store (objects, null).
std::optional<std::string> metadata_value_text(const boost::json::value& value);

}  // namespace mf
