#pragma once

#include <boost/json.hpp>
#include <string>

namespace mf::testing {

// The first difference between two JSON values, as "path: expected vs actual"; empty if
// equal.
inline std::string difference(const boost::json::value& expected, const boost::json::value& actual,
                              const std::string& path) {
    if (expected.is_object() && actual.is_object()) {
        const auto& e = expected.as_object();
        const auto& a = actual.as_object();
        for (const auto& [key, value] : e) {
            const auto* other = a.if_contains(key);
            if (!other) return path + "." + std::string(key) + ": missing";
            auto found = difference(value, *other, path + "." + std::string(key));
            if (!found.empty()) return found;
        }
        for (const auto& [key, value] : a) {
            if (!e.contains(key)) return path + "." + std::string(key) + ": unexpected";
        }
        return {};
    }
    if (expected.is_array() && actual.is_array()) {
        const auto& e = expected.as_array();
        const auto& a = actual.as_array();
        if (e.size() != a.size()) {
            return path + ": " + std::to_string(e.size()) + " items expected, " +
                   std::to_string(a.size()) + " found";
        }
        for (std::size_t i = 0; i < e.size(); ++i) {
            auto found = difference(e[i], a[i], path + "[" + std::to_string(i) + "]");
            if (!found.empty()) return found;
        }
        return {};
    }
    const bool same = (expected.is_number() && actual.is_number())
                          ? expected.to_number<double>() == actual.to_number<double>()
                          : expected == actual;
    if (same) return {};
    return path + ": expected " + boost::json::serialize(expected) + ", found " +
           boost::json::serialize(actual);
}

}  // namespace mf::testing
