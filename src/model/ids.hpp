#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mf {

// A run or task as named in a path: all-digit segments select the numeric id,
// anything else the client-chosen string id (docs/api.md#ids).
class ObjectKey {
public:
    static ObjectKey parse(std::string_view segment);
    static ObjectKey number(std::int64_t n) { return ObjectKey(n); }
    static ObjectKey name(std::string s) { return ObjectKey(std::move(s)); }

    bool is_number() const { return std::holds_alternative<std::int64_t>(key_); }
    // Digit strings too large for the column parse to a number no row has, so they read
    // as "not found" instead of failing in SQL as in the reference.
    std::int64_t as_number() const { return std::get<std::int64_t>(key_); }
    const std::string& as_name() const { return std::get<std::string>(key_); }

private:
    explicit ObjectKey(std::int64_t n) : key_(n) {}
    explicit ObjectKey(std::string s) : key_(std::move(s)) {}
    std::variant<std::int64_t, std::string> key_;
};

bool is_all_digits(std::string_view s);

struct RunPath {
    std::string flow_id;
    ObjectKey run;
};

struct StepPath {
    std::string flow_id;
    ObjectKey run;
    std::string step_name;
};

struct TaskPath {
    std::string flow_id;
    ObjectKey run;
    std::string step_name;
    ObjectKey task;
};

}  // namespace mf
