#include "model/heartbeat.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

namespace mf {
namespace {

constexpr std::string_view kVersionPrefix = "metaflow_version:";

// The longest leading digits(.digits)* run, as numbers; empty when there is none.
std::vector<long> leading_version(std::string_view text) {
    std::vector<long> parts;
    std::size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        long part = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            part = part * 10 + (text[i] - '0');
            if (part > 1'000'000'000) part = 1'000'000'000;
            ++i;
        }
        parts.push_back(part);
        if (i + 1 < text.size() && text[i] == '.' && text[i + 1] >= '0' && text[i + 1] <= '9') {
            ++i;
        } else {
            break;
        }
    }
    return parts;
}

bool at_least(std::vector<long> v, std::vector<long> min) {
    v.resize(std::max(v.size(), min.size()), 0);
    min.resize(v.size(), 0);
    return v >= min;
}

std::optional<bool> decide(std::string_view tag) {
    if (tag.substr(0, kVersionPrefix.size()) != kVersionPrefix) return std::nullopt;
    auto version = leading_version(tag.substr(kVersionPrefix.size()));
    if (version.empty()) return true;
    if (version[0] == 1) return at_least(version, {1, 14, 0});
    return at_least(version, {2, 2, 12});
}

}  // namespace

bool sends_heartbeats(const JsonText& system_tags) {
    boost::system::error_code ec;
    auto tags = boost::json::parse(system_tags, ec);
    // The reference iterates whatever was posted; where that raises (null, a number, a
    // non-string element) it assumes a capable client.
    if (ec) return true;
    if (tags.is_string()) return false;  // iterates characters: never a version tag
    if (tags.is_object()) {
        for (const auto& entry : tags.as_object()) {
            if (auto verdict = decide(entry.key())) return *verdict;
        }
        return false;
    }
    if (!tags.is_array()) return true;
    for (const auto& tag : tags.as_array()) {
        if (!tag.is_string()) return true;
        if (auto verdict = decide(tag.as_string())) return *verdict;
    }
    return false;
}

}  // namespace mf
