#include "api/json_writer.hpp"

#include <charconv>

namespace mf::api {
namespace {

void append_escaped(std::string& out, std::string_view value) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (char c : value) {
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

}  // namespace mf::api
