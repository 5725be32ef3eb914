#include "realtime/row_filter.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "model/text.hpp"

namespace mf::realtime {

namespace {

// SQL LIKE: % any run of characters, _ one character.
bool like(std::string_view text, std::string_view pattern) {
    if (pattern.empty()) return text.empty();
    if (pattern.front() == '%') {
        for (std::size_t skip = 0; skip <= text.size(); ++skip) {
            if (like(text.substr(skip), pattern.substr(1))) return true;
        }
        return false;
    }
    if (text.empty()) return false;
    if (pattern.front() != '_' && pattern.front() != text.front()) return false;
    return like(text.substr(1), pattern.substr(1));
}

template <class T>
bool compare(FilterOp op, const T& cell, const T& value) {
    switch (op) {
        case FilterOp::eq:
        case FilterOp::is:
            return cell == value;
        case FilterOp::ne:
            return cell != value;
        case FilterOp::lt:
            return cell < value;
        case FilterOp::le:
            return cell <= value;
        case FilterOp::gt:
            return cell > value;
        case FilterOp::ge:
            return cell >= value;
        default:
            return false;
    }
}

bool value_matches(FilterOp op, UiColumnKind kind, const std::optional<std::string>& cell,
                   const std::optional<std::string>& value) {
    if (!value) {
        if (op == FilterOp::eq || op == FilterOp::is) return !cell;
        if (op == FilterOp::ne) return cell.has_value();
        return false;
    }
    if (!cell) return false;
    switch (op) {
        case FilterOp::co:
            return ascii_lower(*cell).find(ascii_lower(*value)) != std::string::npos;
        case FilterOp::sw:
            return ascii_lower(*cell).starts_with(ascii_lower(*value));
        case FilterOp::ew:
            return ascii_lower(*cell).ends_with(ascii_lower(*value));
        case FilterOp::li:
            return like(ascii_lower(*cell), ascii_lower(*value));
        default:
            break;
    }
    if (kind == UiColumnKind::integer) {
        const auto cell_number = parse_number<std::int64_t>(*cell);
        const auto number = parse_number<std::int64_t>(*value);
        if (!cell_number || !number) return false;
        return compare(op, *cell_number, *number);
    }
    return compare(op, *cell, *value);
}

std::vector<std::string> tags_of(UiResource resource, const UiRow& row) {
    std::vector<std::string> tags;
    const auto columns = ui_columns(resource);
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if ((columns[i].name != "tags" && columns[i].name != "system_tags") || !row[i]) continue;
        boost::system::error_code error;
        auto parsed = boost::json::parse(*row[i], error);
        if (error || !parsed.is_array()) continue;
        for (const auto& tag : parsed.as_array()) {
            if (tag.is_string()) tags.emplace_back(tag.as_string());
        }
    }
    return tags;
}

bool tags_match(const TagFilter& filter, const std::vector<std::string>& tags) {
    const auto has = [&](const std::string& wanted) {
        if (filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::any)
            return std::find(tags.begin(), tags.end(), wanted) != tags.end();
        return std::any_of(tags.begin(), tags.end(), [&](const std::string& tag) {
            return tag.find(wanted) != std::string::npos;
        });
    };
    if (filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::likeall)
        return std::all_of(filter.values.begin(), filter.values.end(), has);
    return std::any_of(filter.values.begin(), filter.values.end(), has);
}

// The value of a key column that `scope` sets, as its cell reads; nullopt for other columns.
std::optional<std::string> scope_cell(const UiScope& scope, std::string_view column) {
    const auto number = [](const std::optional<ObjectKey>& key) -> std::optional<std::string> {
        if (!key || !key->is_number()) return std::nullopt;
        return std::to_string(key->as_number());
    };
    if (column == "flow_id") return scope.flow_id;
    if (column == "run_number") return number(scope.run);
    if (column == "step_name") return scope.step_name;
    if (column == "task_id") return number(scope.task);
    return std::nullopt;
}

// Whether the filters on the columns `cell` knows pass; the others are not looked at.
template <class Cell>
bool known_cells_match(UiResource resource, const std::vector<Filter>& filters, Cell cell) {
    const auto columns = ui_columns(resource);
    for (const auto& filter : filters) {
        std::size_t index = 0;
        while (index < columns.size() && columns[index].name != filter.field) ++index;
        if (index >= columns.size()) continue;
        const auto known = cell(index);
        if (!known) continue;
        const bool any =
            std::any_of(filter.values.begin(), filter.values.end(), [&](const auto& v) {
                return value_matches(filter.op, columns[index].kind, *known, v);
            });
        if (!any) return false;
    }
    return true;
}

}  // namespace

bool scope_may_match(UiResource resource, const UiScope& scope,
                     const std::vector<Filter>& filters) {
    const auto columns = ui_columns(resource);
    return known_cells_match(resource, filters,
                             [&](std::size_t index) -> std::optional<std::optional<std::string>> {
                                 auto value = scope_cell(scope, columns[index].name);
                                 if (!value) return std::nullopt;
                                 return std::optional<std::string>(std::move(*value));
                             });
}

bool row_matches(UiResource resource, const UiRow& row, const std::vector<Filter>& filters,
                 const std::vector<TagFilter>& tag_filters) {
    const bool cells_match = known_cells_match(
        resource, filters, [&](std::size_t index) -> std::optional<std::optional<std::string>> {
            if (index >= row.size()) return std::nullopt;
            return row[index];
        });
    if (!cells_match) return false;
    if (tag_filters.empty()) return true;
    const auto tags = tags_of(resource, row);
    return std::all_of(tag_filters.begin(), tag_filters.end(),
                       [&](const TagFilter& filter) { return tags_match(filter, tags); });
}

}  // namespace mf::realtime
