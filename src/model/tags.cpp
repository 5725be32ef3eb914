#include "model/tags.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace mf {
namespace {

namespace json = boost::json;

json::array parse_tag_list(const JsonText& text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_array()) return {};
    return std::move(value.as_array());
}

bool contains(const json::array& list, std::string_view tag) {
    return std::any_of(list.begin(), list.end(),
                       [&](const json::value& v) { return v.is_string() && v.as_string() == tag; });
}

// How Python prints a str inside a set literal, since the 422 text quotes one.
std::string python_repr(std::string_view s) {
    char quote = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos)
                     ? '"'
                     : '\'';
    std::string out(1, quote);
    for (char c : s) {
        if (c == '\\' || c == quote) out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    out += quote;
    return out;
}

}  // namespace

Result<MutatedTags> mutate_tags(const JsonText& tags, const JsonText& system_tags,
                                const TagMutation& mutation) {
    json::array user = parse_tag_list(tags);
    json::array system = parse_tag_list(system_tags);

    std::vector<std::string> refused;
    for (const auto& tag : mutation.remove) {
        if (contains(system, tag) &&
            std::find(refused.begin(), refused.end(), tag) == refused.end())
            refused.push_back(tag);
    }
    if (!refused.empty()) {
        std::string set = "{";
        for (std::size_t i = 0; i < refused.size(); ++i) {
            if (i) set += ", ";
            set += python_repr(refused[i]);
        }
        set += "}";
        return Error::unprocessable("Cannot remove tags that are existing system tags " + set);
    }

    json::array next;
    for (const auto& tag : user) {
        bool removed = tag.is_string() &&
                       std::find(mutation.remove.begin(), mutation.remove.end(),
                                 std::string_view(tag.as_string())) != mutation.remove.end();
        if (!removed && !(tag.is_string() && contains(next, tag.as_string()))) next.push_back(tag);
    }
    for (const auto& tag : mutation.add) {
        if (!contains(system, tag) && !contains(next, tag)) next.emplace_back(tag);
    }

    // Compared as sets: an unchanged set keeps the stored array and its order.
    bool same = next.size() == user.size() &&
                std::all_of(next.begin(), next.end(), [&](const json::value& v) {
                    return std::find(user.begin(), user.end(), v) != user.end();
                });
    if (same) return MutatedTags{tags == kJsonNull ? JsonText("[]") : tags, false};
    return MutatedTags{json::serialize(next), true};
}

}  // namespace mf
