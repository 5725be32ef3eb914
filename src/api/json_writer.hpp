#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mf::api {

// Appends JSON to a string as it goes, so responses are written straight from rows
// without building a document first. Stored JSON (tags) is copied in as it is.
class JsonWriter {
public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    JsonWriter& key(std::string_view name);
    void string(std::string_view value);
    void number(std::int64_t value);
    void null();
    void raw(std::string_view json);
    // The text to append one value to, which the caller writes as JSON itself: a large value
    // goes straight into the text instead of being copied in from a string of its own.
    std::string& raw_value();
    void optional_string(const std::optional<std::string>& value);
    void optional_number(const std::optional<std::int64_t>& value);

    std::string& text() { return out_; }
    std::string take() { return std::move(out_); }

private:
    void before_value();
    void open(char bracket);
    void close(char bracket);

    std::string out_;
    bool need_comma_ = false;
};

// `value` as a JSON string literal.
std::string json_string(std::string_view value);
// The same, appended to `out`.
void append_json_string(std::string& out, std::string_view value);

}  // namespace mf::api
