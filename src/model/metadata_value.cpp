#include "model/metadata_value.hpp"

#include <strings.h>
#include <boost/json.hpp>
#include <cctype>

namespace mf {
namespace {

namespace json = boost::json;

bool needs_quotes(std::string_view s) {
    if (s.empty() || strcasecmp(std::string(s).c_str(), "NULL") == 0) return true;
    for (char c : s) {
        if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' ||
            std::isspace(static_cast<unsigned char>(c)))
            return true;
    }
    return false;
}

std::optional<std::string> scalar_text(const json::value& value) {
    switch (value.kind()) {
        case json::kind::string:
            return std::string(value.as_string());
        case json::kind::bool_:
            // The reference binds a boolean and PostgreSQL casts it into the text column.
            return value.as_bool() ? "true" : "false";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return json::serialize(value);
        default:
            return std::nullopt;
    }
}

std::optional<std::string> array_text(const json::array& items) {
    std::string out = "{";
    bool first = true;
    for (const auto& item : items) {
        if (!first) out += ',';
        first = false;
        if (item.is_array()) {
            auto nested = array_text(item.as_array());
            if (!nested) return std::nullopt;
            out += *nested;
            continue;
        }
        if (item.is_null()) {
            out += "NULL";
            continue;
        }
        auto text = scalar_text(item);
        if (!text) return std::nullopt;
        if (item.is_string() && needs_quotes(*text)) {
            out += '"';
            for (char c : *text) {
                if (c == '"' || c == '\\') out += '\\';
                out += c;
            }
            out += '"';
        } else {
            out += *text;
        }
    }
    out += '}';
    return out;
}

}  // namespace

std::optional<std::string> metadata_value_text(const json::value& value) {
    if (value.is_array()) return array_text(value.as_array());
    return scalar_text(value);
}

}  // namespace mf
