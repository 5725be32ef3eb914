#include "store/change_tags.hpp"

#include <boost/json.hpp>

namespace mf {

std::vector<std::string> tag_strings(std::string_view tags_json) {
    std::vector<std::string> tags;
    boost::system::error_code error;
    auto parsed = boost::json::parse(tags_json, error);
    if (error || !parsed.is_array()) return tags;
    for (const auto& tag : parsed.as_array()) {
        if (tag.is_string()) tags.emplace_back(tag.as_string());
    }
    return tags;
}

}  // namespace mf
