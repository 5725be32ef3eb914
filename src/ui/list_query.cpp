#include "ui/list_query.hpp"

#include "model/text.hpp"

#include <optional>
#include <string_view>

namespace mf::ui {
namespace {

std::optional<FilterOp> filter_op(std::string_view name) {
    static constexpr std::pair<std::string_view, FilterOp> kOps[] = {
        {"eq", FilterOp::eq}, {"ne", FilterOp::ne}, {"lt", FilterOp::lt}, {"le", FilterOp::le},
        {"gt", FilterOp::gt}, {"ge", FilterOp::ge}, {"co", FilterOp::co}, {"sw", FilterOp::sw},
        {"ew", FilterOp::ew}, {"li", FilterOp::li}, {"is", FilterOp::is},
    };
    for (const auto& [op_name, op] : kOps) {
        if (op_name == name) return op;
    }
    return std::nullopt;
}

std::optional<TagFilter::Mode> tag_mode(std::string_view key) {
    if (key == "_tags" || key == "_tags:all") return TagFilter::Mode::all;
    if (key == "_tags:any") return TagFilter::Mode::any;
    if (key == "_tags:likeall") return TagFilter::Mode::likeall;
    if (key == "_tags:likeany") return TagFilter::Mode::likeany;
    return std::nullopt;
}

}  // namespace

Result<Paging> read_paging(const http::Request& request) {
    Paging paging;
    if (const auto* page = request.query_value("_page")) {
        paging.page =
            std::max<std::int64_t>(parse_python_number<std::int64_t>(*page).value_or(1), 1);
    }
    if (const auto* limit = request.query_value("_limit")) {
        paging.limit = parse_python_number<std::int64_t>(*limit).value_or(kDefaultLimit);
        if (paging.limit < 0) return Error::invalid("LIMIT must not be negative");
        paging.limit = std::min(paging.limit, kMaxLimit);
    }
    return paging;
}

Result<Ok> read_list_query(const http::Request& request, UiListQuery& query) {
    auto paging = read_paging(request);
    if (!paging) return paging.take_error();
    query.limit = paging->limit;
    query.offset = paging->limit * (paging->page - 1);
    if (const auto* group_limit = request.query_value("_group_limit")) {
        query.group_limit = std::clamp<std::int64_t>(
            parse_python_number<std::int64_t>(*group_limit).value_or(kDefaultLimit), 0, kMaxLimit);
    }
    if (const auto* order = request.query_value("_order")) {
        for (const auto item : split(*order, ',')) {
            UiOrder entry{std::string(item), true};
            if (!item.empty() && (item.front() == '+' || item.front() == '-')) {
                entry.descending = item.front() == '-';
                entry.column = item.substr(1);
            }
            const UiColumn* column = find_ui_column(query.resource, entry.column);
            if (column && column->filterable) query.order.push_back(std::move(entry));
        }
    }
    if (const auto* group = request.query_value("_group")) {
        for (const auto name : split(*group, ',')) {
            const UiColumn* column = find_ui_column(query.resource, name);
            if (column && column->groupable) query.group.emplace_back(name);
        }
    }
    for (const auto& [key, value] : request.query) {
        if (auto mode = tag_mode(key)) {
            const auto tags = split(value, ',');
            query.tag_filters.push_back(TagFilter{*mode, {tags.begin(), tags.end()}});
            continue;
        }
        if (key.empty() || key.front() == '_') continue;
        const auto colon = key.find(':');
        const std::string field = key.substr(0, colon);
        auto op = colon == std::string::npos ? std::optional(FilterOp::eq)
                                             : filter_op(std::string_view(key).substr(colon + 1));
        const UiColumn* column = find_ui_column(query.resource, field);
        if (!op || !column || !column->filterable) continue;
        Filter filter{field, *op, {}};
        for (const auto item : split(value, ',')) {
            if (item == "null") {
                filter.values.emplace_back(std::nullopt);
            } else {
                filter.values.emplace_back(std::string(item));
            }
        }
        query.filters.push_back(std::move(filter));
    }
    return Ok{};
}

}  // namespace mf::ui
