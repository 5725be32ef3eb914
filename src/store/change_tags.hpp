#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mf {

// The strings of a JSON array of tags, as a change of a metadata row carries them (the
// stores tell their own commits with them); nothing for other JSON.
std::vector<std::string> tag_strings(std::string_view tags_json);

}  // namespace mf
