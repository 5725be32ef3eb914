#include "api/json_writer.hpp"

#include <charconv>

namespace mf::api {
namespace {

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF) starting at text[i], or 0 when there is none.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char lead = byte(i);
    std::size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
    if (length == 0 || i + length > text.size()) return 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    }
    return length;
}

// Text from a path or query string need not be UTF-8; a byte that does not start a
// well-formed sequence is written as U+FFFD so that the output is always JSON.
void append_escaped(std::string& out, std::string_view value) {
    static constexpr char kHex[] = "0123456789abcdef";
    // Printable ASCII other than the quote and the backslash is copied as is, a run at a time.
    auto plain = [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    };
    out += '"';
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (plain(value[i])) {
            std::size_t end = i + 1;
            while (end < value.size() && plain(value[end])) ++end;
            out.append(value.substr(i, end - i));
            i = end - 1;
            continue;
        }
        char c = value[i];
        if (static_cast<unsigned char>(c) >= 0x80) {
            auto length = utf8_sequence(value, i);
            if (length == 0) {
                out += "\\ufffd";
            } else {
                out.append(value.substr(i, length));
                i += length - 1;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += kHex[(c >> 4) & 0xf];
                    out += kHex[c & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

}  // namespace

void JsonWriter::before_value() {
    if (need_comma_) out_ += ',';
    need_comma_ = true;
}

void JsonWriter::open(char bracket) {
    before_value();
    out_ += bracket;
    need_comma_ = false;
}

void JsonWriter::close(char bracket) {
    out_ += bracket;
    need_comma_ = true;
}

JsonWriter& JsonWriter::key(std::string_view name) {
    if (need_comma_) out_ += ',';
    append_escaped(out_, name);
    out_ += ':';
    need_comma_ = false;
    return *this;
}

void JsonWriter::string(std::string_view value) {
    before_value();
    append_escaped(out_, value);
}

void JsonWriter::number(std::int64_t value) {
    before_value();
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, end);
}

void JsonWriter::null() {
    before_value();
    out_ += "null";
}

void JsonWriter::raw(std::string_view json) {
    before_value();
    out_ += json;
}

std::string& JsonWriter::raw_value() {
    before_value();
    return out_;
}

void JsonWriter::optional_string(const std::optional<std::string>& value) {
    value ? string(*value) : null();
}

void JsonWriter::optional_number(const std::optional<std::int64_t>& value) {
    value ? number(*value) : null();
}

std::string json_string(std::string_view value) {
    std::string out;
    append_escaped(out, value);
    return out;
}

void append_json_string(std::string& out, std::string_view value) {
    append_escaped(out, value);
}

}  // namespace mf::api
