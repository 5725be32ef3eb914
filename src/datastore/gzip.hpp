#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "model/result.hpp"

namespace mf::datastore {

// Inflates a gzip stream (every member of it, as Python's GzipFile reads) into at most
// `max_bytes` bytes; more is an error rather than unbounded memory.
Result<std::string> gunzip(std::string_view compressed, std::size_t max_bytes);

}  // namespace mf::datastore
