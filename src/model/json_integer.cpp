#include "model/json_integer.hpp"

#include "model/text.hpp"

namespace mf {

std::optional<std::int64_t> json_integer(const boost::json::value& value) {
    if (value.is_int64()) return value.as_int64();
    if (value.is_uint64() && value.as_uint64() <= INT64_MAX) {
        return static_cast<std::int64_t>(value.as_uint64());
    }
    if (value.is_string()) return parse_number<std::int64_t>(value.as_string());
    return std::nullopt;
}

}  // namespace mf
