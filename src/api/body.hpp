#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/entities.hpp"
#include "model/result.hpp"

namespace mf::api {

// Reading request bodies: anything malformed or wrongly typed is an Error::invalid that
// names the field, so the client gets a 400 instead of the reference's 500.
Result<boost::json::value> parse_body(std::string_view body);
Result<boost::json::object> parse_object_body(std::string_view body);

// Reads typed fields of one JSON object. A wrongly typed field yields the fallback and
// records the first error, so a whole body is read before checking error() once.
class FieldReader {
public:
    // `context` prefixes error messages, e.g. "item 3: ".
    explicit FieldReader(const boost::json::object& object, std::string context = {})
        : object_(object), context_(std::move(context)) {}

    // Missing gives `if_missing`, JSON null gives nullopt.
    OptString string(std::string_view key, OptString if_missing = std::nullopt);
    // Like string(), but refuses values longer than the reference's varchar(255) columns.
    OptString short_string(std::string_view key, OptString if_missing = std::nullopt);
    // Missing or null is JSON null; otherwise an array of strings, kept as text.
    JsonText tags(std::string_view key);
    // Missing gives `if_missing`; otherwise an integer within [min, max].
    std::int64_t integer(std::string_view key, std::int64_t if_missing, std::int64_t min,
                         std::int64_t max);
    const boost::json::value* find(std::string_view key) const { return object_.if_contains(key); }

    void fail(std::string message);
    const std::optional<Error>& error() const { return error_; }

private:
    const boost::json::object& object_;
    std::string context_;
    std::optional<Error> error_;
};

// The number of characters (code points) of UTF-8 text, as PostgreSQL counts varchar.
std::size_t utf8_length(std::string_view text);
inline constexpr std::size_t kMaxVarchar = 255;

}  // namespace mf::api
