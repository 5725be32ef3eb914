#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf {

// The number all of `text` spells, as std::from_chars reads it (base 10, a '-' for signed
// types, no '+', no blanks); nullopt for empty text, anything left over, or overflow.
template <class Number>
requires std::integral<Number> || std::floating_point<Number> std::optional<Number> parse_number(
    std::string_view text) {
    Number value{};
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
    return value;
}

// Python's int() or float() of plain decimal text: blanks around and a leading '+' allowed.
// The reference services apply those to query values, and their answers follow from it.
template <class Number>
std::optional<Number> parse_python_number(std::string_view text);

// Drops ASCII whitespace at both ends.
std::string_view trim_space(std::string_view text);

std::string ascii_lower(std::string_view text);

// Every piece between separators, empty ones included: "a,,b" gives "a", "", "b".
std::vector<std::string_view> split(std::string_view text, char separator);

}  // namespace mf
