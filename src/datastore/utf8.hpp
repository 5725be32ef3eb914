#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mf::datastore {

struct Utf8Char {
    std::uint32_t code = 0;
    std::size_t length = 1;
    bool valid = false;  // false for a malformed, cut or overlong sequence (length is then 1)
};

// The character starting at byte `at` of `text`. Encoded surrogates count as valid here, as
// Python's 'surrogatepass' reads them; callers that refuse them check the code.
inline Utf8Char next_utf8(std::string_view text, std::size_t at) {
    auto lead = static_cast<unsigned char>(text[at]);
    if (lead < 0x80) return {lead, 1, true};
    std::size_t extra = (lead & 0xe0) == 0xc0   ? 1
                        : (lead & 0xf0) == 0xe0 ? 2
                        : (lead & 0xf8) == 0xf0 ? 3
                                                : 0;
    if (extra == 0 || text.size() - at <= extra) return {lead, 1, false};
    std::uint32_t code = lead & (0x3fu >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
        auto next = static_cast<unsigned char>(text[at + k]);
        if ((next & 0xc0) != 0x80) return {lead, 1, false};
        code = (code << 6) | (next & 0x3fu);
    }
    static constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (code < smallest[extra] || code > 0x10ffff) return {lead, 1, false};
    return {code, extra + 1, true};
}

}  // namespace mf::datastore
