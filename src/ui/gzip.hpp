#pragma once

#include <string>
#include <string_view>

namespace mf::ui {

// `data` compressed in the gzip format (RFC 1952) at the highest level, for bodies that
// are compressed once and sent many times.
std::string gzip(std::string_view data);

}  // namespace mf::ui
