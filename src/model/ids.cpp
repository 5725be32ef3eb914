#include "model/ids.hpp"

#include "model/text.hpp"

namespace mf {

bool is_all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

ObjectKey ObjectKey::parse(std::string_view segment) {
    if (!is_all_digits(segment)) return ObjectKey(std::string(segment));
    return ObjectKey(parse_number<std::int64_t>(segment).value_or(-1));
}

}  // namespace mf
