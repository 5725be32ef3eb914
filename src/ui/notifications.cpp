#include "ui/notifications.hpp"

#include <openssl/sha.h>

#include <cmath>
#include <cstdio>
#include <optional>

#include "model/text.hpp"

namespace mf::ui {
namespace {

namespace json = boost::json;

std::string repr_string(std::string_view text) {
    const bool has_single = text.find('\'') != std::string_view::npos;
    const bool has_double = text.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == quote || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\x%02x", byte);
            out += escape;
        } else {
            out += c;
        }
    }
    out += quote;
    return out;
}

// Python's repr of a float: the shortest digits that read back, positional from 1e-4 up to
// 1e16, else with an exponent of at least two digits.
std::string repr_float(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
    char buffer[64];
    auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    std::string scientific(buffer, end);  // e.g. "-1.5e+16"
    auto e = scientific.find('e');
    int exponent = std::stoi(scientific.substr(e + 1));
    std::string mantissa = scientific.substr(0, e);
    std::string sign;
    if (mantissa.front() == '-') {
        sign = "-";
        mantissa.erase(0, 1);
    }
    std::string digits;
    for (char c : mantissa) {
        if (c != '.') digits += c;
    }
    if (exponent < -4 || exponent >= 16) {
        std::string out = sign + digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char exp[16];
        std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        return out + exp;
    }
    if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
    const auto whole = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= whole)
        return sign + digits + std::string(whole - digits.size(), '0') + ".0";
    return sign + digits.substr(0, whole) + "." + digits.substr(whole);
}

std::string sha1_hex(std::string_view text) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (auto byte : digest) {
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
    }
    return out;
}

// Python's truth value of a JSON value.
bool truthy(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return false;
        case json::kind::bool_:
            return value.get_bool();
        case json::kind::int64:
            return value.get_int64() != 0;
        case json::kind::uint64:
            return value.get_uint64() != 0;
        case json::kind::double_:
            return value.get_double() != 0;
        case json::kind::string:
            return !value.get_string().empty();
        case json::kind::array:
            return !value.get_array().empty();
        case json::kind::object:
            return !value.get_object().empty();
    }
    return false;
}

json::value field_or(const json::object& entry, std::string_view key, json::value fallback) {
    auto found = entry.find(key);
    return found == entry.end() ? fallback : found->value();
}

template <class T>
std::optional<bool> compare(std::string_view op, const T& field, const T& wanted) {
    if (op == "eq") return field == wanted;
    if (op == "ne") return field != wanted;
    if (op == "lt") return field < wanted;
    if (op == "le") return field <= wanted;
    if (op == "gt") return field > wanted;
    if (op == "ge") return field >= wanted;
    return std::nullopt;
}

enum class Verdict { keep, drop, next };

// One condition on one notification.
Verdict check(const json::object& notification, std::string_view field, std::string_view op,
              const std::string& wanted) {
    if (op != "eq" && op != "ne" && op != "lt" && op != "le" && op != "gt" && op != "ge") {
        return Verdict::next;
    }
    auto found = notification.find(field);
    if (found == notification.end() || !truthy(found->value())) return Verdict::next;
    const auto& value = found->value();
    std::optional<bool> passes;
    if (value.is_string()) {
        if (wanted.empty()) return Verdict::next;
        passes = compare<std::string_view>(op, value.get_string(), wanted);
    } else if (value.is_int64()) {
        auto number = parse_python_number<std::int64_t>(wanted);
        if (!number) return Verdict::keep;  // int() raised: the reference stops filtering
        if (*number == 0) return Verdict::next;
        passes = compare(op, value.get_int64(), *number);
    } else if (value.is_double() || value.is_uint64()) {
        auto number = parse_python_number<double>(wanted);
        if (!number) return Verdict::keep;
        if (*number == 0) return Verdict::next;
        passes = compare(op, value.to_number<double>(), *number);
    } else if (value.is_bool()) {
        // bool(text) is true for any non-empty text.
        if (wanted.empty()) return Verdict::next;
        passes = compare(op, value.get_bool(), true);
    } else {
        return Verdict::keep;  // list(text) or dict(text): compared or raising, never useful
    }
    return passes.value_or(true) ? Verdict::next : Verdict::drop;
}

}  // namespace

std::string python_repr(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return "None";
        case json::kind::bool_:
            return value.get_bool() ? "True" : "False";
        case json::kind::int64:
            return std::to_string(value.get_int64());
        case json::kind::uint64:
            return std::to_string(value.get_uint64());
        case json::kind::double_:
            return repr_float(value.get_double());
        case json::kind::string:
            return repr_string(value.get_string());
        case json::kind::array: {
            std::string out = "[";
            for (const auto& item : value.get_array()) {
                if (out.size() > 1) out += ", ";
                out += python_repr(item);
            }
            return out + "]";
        }
        case json::kind::object: {
            std::string out = "{";
            for (const auto& [key, item] : value.get_object()) {
                if (out.size() > 1) out += ", ";
                out += repr_string(key) + ": " + python_repr(item);
            }
            return out + "}";
        }
    }
    return {};
}

json::array notifications_from(const json::array& configured) {
    json::array out;
    for (const auto& item : configured) {
        const auto* entry = item.if_object();
        if (!entry || !entry->contains("message")) continue;
        auto created = field_or(*entry, "created", field_or(*entry, "start", nullptr));
        if (!truthy(created)) continue;
        out.push_back(json::object{
            {"id", field_or(*entry, "id", json::string(sha1_hex(python_repr(item))))},
            {"type", field_or(*entry, "type", "info")},
            {"contentType", field_or(*entry, "contentType", "text")},
            {"message", field_or(*entry, "message", "")},
            {"url", field_or(*entry, "url", nullptr)},
            {"urlText", field_or(*entry, "urlText", nullptr)},
            {"created", created},
            {"start", field_or(*entry, "start", nullptr)},
            {"end", field_or(*entry, "end", nullptr)},
        });
    }
    return out;
}

json::array filter_notifications(const json::array& notifications, const http::Fields& query) {
    json::array out;
    for (const auto& item : notifications) {
        const auto& notification = item.as_object();
        bool keep = true;
        for (const auto& [key, unused] : query) {
            auto colon = key.find(':');
            std::string_view field = std::string_view(key).substr(0, colon);
            std::string_view op =
                colon == std::string::npos ? "eq" : std::string_view(key).substr(colon + 1);
            // The first value of the key, as the reference's query.get(key).
            const std::string* wanted = nullptr;
            for (const auto& [name, value] : query) {
                if (name == key) {
                    wanted = &value;
                    break;
                }
            }
            auto verdict = check(notification, field, op, *wanted);
            if (verdict == Verdict::keep) break;
            if (verdict == Verdict::drop) {
                keep = false;
                break;
            }
        }
        if (keep) out.push_back(item);
    }
    return out;
}

}  // namespace mf::ui
