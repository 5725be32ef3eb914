#include "api/body.hpp"

namespace mf::api {

namespace json = boost::json;

Result<json::value> parse_body(std::string_view body) {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 64;
    auto value = json::parse(body, ec, {}, options);
    if (ec) return Error::invalid("request body is not valid JSON: " + ec.message());
    return value;
}

Result<json::object> parse_object_body(std::string_view body) {
    auto value = parse_body(body);
    if (!value) return value.take_error();
    if (!value->is_object()) return Error::invalid("request body must be a JSON object");
    return std::move(value->as_object());
}

void FieldReader::fail(std::string message) {
    if (!error_) error_ = Error::invalid(context_ + message);
}

OptString FieldReader::string(std::string_view key, OptString if_missing) {
    const auto* value = object_.if_contains(key);
    if (!value) return if_missing;
    if (value->is_null()) return std::nullopt;
    if (!value->is_string()) {
        fail("'" + std::string(key) + "' must be a string");
        return if_missing;
    }
    return std::string(value->as_string());
}

OptString FieldReader::short_string(std::string_view key, OptString if_missing) {
    auto value = string(key, std::move(if_missing));
    if (value && utf8_length(*value) > kMaxVarchar) {
        fail("'" + std::string(key) + "' is longer than 255 characters");
    }
    return value;
}

JsonText FieldReader::tags(std::string_view key) {
    const auto* value = object_.if_contains(key);
    if (!value || value->is_null()) return kJsonNull;
    bool strings = value->is_array();
    if (strings) {
        for (const auto& tag : value->as_array()) strings = strings && tag.is_string();
    }
    if (!strings) {
        fail("'" + std::string(key) + "' must be a list of strings");
        return kJsonNull;
    }
    return json::serialize(*value);
}

std::int64_t FieldReader::integer(std::string_view key, std::int64_t if_missing, std::int64_t min,
                                  std::int64_t max) {
    const auto* value = object_.if_contains(key);
    if (!value) return if_missing;
    if (value->is_int64() && value->as_int64() >= min && value->as_int64() <= max) {
        return value->as_int64();
    }
    if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(max) && min <= 0) {
        return static_cast<std::int64_t>(value->as_uint64());
    }
    fail("'" + std::string(key) + "' must be an integer from " + std::to_string(min) + " to " +
         std::to_string(max));
    return if_missing;
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (unsigned char c : text) count += (c & 0xC0) != 0x80;
    return count;
}

}  // namespace mf::api
