#include "model/ids.hpp"

#include <charconv>

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
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), n);
    if (ec != std::errc() || end != segment.data() + segment.size()) return ObjectKey(-1);
    return ObjectKey(n);
}

}  // namespace mf
