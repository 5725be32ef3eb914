#include "http/message.hpp"

#include <algorithm>
#include <stdexcept>

namespace mf::http {
namespace {

const std::string* find(const Fields& fields, std::string_view name) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const auto& field) { return field.first == name; });
    return it == fields.end() ? nullptr : &it->second;
}

}  // namespace

const std::string& Request::param(std::string_view name) const {
    if (const auto* value = find(path_params, name)) return *value;
    throw std::logic_error("route has no parameter " + std::string(name));
}

const std::string* Request::header(std::string_view lower_case_name) const {
    return find(headers, lower_case_name);
}

bool Request::has_query(std::string_view key) const {
    return find(query, key) != nullptr;
}

const std::string* Request::query_value(std::string_view key) const {
    return find(query, key);
}

}  // namespace mf::http
