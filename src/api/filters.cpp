#include "api/filters.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>

#include "api/paging.hpp"
#include "model/text.hpp"

namespace mf::api {
namespace {

constexpr std::array kRunFields = {
    "flow_id",           "run_number", "run_id",      "user_name", "ts_epoch",
    "last_heartbeat_ts", "tags",       "system_tags", "user",      "status"};
constexpr std::array kTaskFields = {"task_id", "task_name", "user_name", "ts_epoch",
                                    "last_heartbeat_ts"};

struct OpName {
    std::string_view name;
    FilterOp op;
};
constexpr std::array kOps = {
    OpName{"eq", FilterOp::eq}, OpName{"ne", FilterOp::ne}, OpName{"lt", FilterOp::lt},
    OpName{"le", FilterOp::le}, OpName{"gt", FilterOp::gt}, OpName{"ge", FilterOp::ge},
    OpName{"co", FilterOp::co}, OpName{"sw", FilterOp::sw}, OpName{"ew", FilterOp::ew},
    OpName{"li", FilterOp::li}, OpName{"is", FilterOp::is}};

bool is_integer(std::string_view text) {
    return parse_number<std::int64_t>(text).has_value();
}

bool is_json(std::string_view text) {
    boost::system::error_code ec;
    boost::json::parse(text, ec);
    return !ec;
}

template <std::size_t N>
bool allowed(const std::array<const char*, N>& fields, std::string_view field) {
    return std::any_of(fields.begin(), fields.end(), [&](const char* f) { return f == field; });
}

Result<Filter> read_filter(std::string_view field, std::string_view op_name,
                           std::string_view value) {
    auto op =
        std::find_if(kOps.begin(), kOps.end(), [&](const OpName& o) { return o.name == op_name; });
    if (op == kOps.end()) {
        return Error::invalid("unsupported operator '" + std::string(op_name) + "' for field '" +
                              std::string(field) + "'");
    }
    Filter filter{std::string(field), op->op, {}};
    for (auto part : split(value, ',')) {
        if (part == "null") {
            filter.values.emplace_back(std::nullopt);
            continue;
        }
        if ((field == "ts_epoch" || field == "last_heartbeat_ts") && !is_integer(part)) {
            return Error::invalid("invalid " + std::string(field) +
                                  ": expected integer epoch milliseconds, got '" +
                                  std::string(part) + "'");
        }
        if ((field == "run_number" || field == "task_id") && !is_integer(part) &&
            (op->op == FilterOp::eq || op->op == FilterOp::ne || op->op == FilterOp::lt ||
             op->op == FilterOp::le || op->op == FilterOp::gt || op->op == FilterOp::ge)) {
            return Error::invalid("invalid " + std::string(field) + ": expected an integer, got '" +
                                  std::string(part) + "'");
        }
        // Compared as JSON (docs/api.md#filters): a value that is not JSON would fail in the
        // database.
        if ((field == "tags" || field == "system_tags") &&
            (op->op == FilterOp::eq || op->op == FilterOp::ne) && !is_json(part)) {
            return Error::invalid("invalid " + std::string(field) + ": expected JSON, got '" +
                                  std::string(part) + "'");
        }
        if (field == "status" && part != "running" && part != "completed" && part != "failed") {
            return Error::invalid("unsupported status filter: " + std::string(part));
        }
        filter.values.emplace_back(std::string(part));
    }
    return filter;
}

Result<TagFilter> read_tag_filter(std::string_view mode, std::string_view value) {
    TagFilter filter;
    if (mode.empty() || mode == "all") {
        filter.mode = TagFilter::Mode::all;
    } else if (mode == "any") {
        filter.mode = TagFilter::Mode::any;
    } else if (mode == "likeall") {
        filter.mode = TagFilter::Mode::likeall;
    } else if (mode == "likeany") {
        filter.mode = TagFilter::Mode::likeany;
    } else {
        return Error::invalid("unsupported operator '" + std::string(mode) + "' for field '_tags'");
    }
    for (auto part : split(value, ',')) filter.values.emplace_back(part);
    return filter;
}

template <std::size_t N>
Result<std::vector<Filter>> read_filters(const http::Request& request,
                                         const std::array<const char*, N>& fields) {
    std::vector<Filter> filters;
    for (const auto& [key, value] : request.query) {
        if (key.empty() || key.front() == '_') continue;
        auto colon = key.find(':');
        std::string_view field = std::string_view(key).substr(0, colon);
        if (!allowed(fields, field)) continue;
        std::string_view op =
            colon == std::string::npos ? "eq" : std::string_view(key).substr(colon + 1);
        auto filter = read_filter(field, op, value);
        if (!filter) return filter.take_error();
        filters.push_back(std::move(*filter));
    }
    return filters;
}

}  // namespace

Result<RunQuery> read_run_query(const http::Request& request) {
    RunQuery query;
    auto filters = read_filters(request, kRunFields);
    if (!filters) return filters.take_error();
    query.filters = std::move(*filters);
    for (const auto& [key, value] : request.query) {
        std::string_view name = key;
        if (name.substr(0, 5) != "_tags" || (name.size() > 5 && name[5] != ':')) continue;
        auto tag_filter = read_tag_filter(name.size() > 5 ? name.substr(6) : "", value);
        if (!tag_filter) return tag_filter.take_error();
        query.tag_filters.push_back(std::move(*tag_filter));
    }
    query.with_status = std::any_of(query.filters.begin(), query.filters.end(),
                                    [](const Filter& f) { return f.field == "status"; });
    bool filtered = !query.filters.empty() || !query.tag_filters.empty();
    auto paging = read_paging(request, CursorFamily::runs, filtered);
    if (!paging) return paging.take_error();
    query.paging = std::move(*paging);
    return query;
}

Result<TaskQuery> read_task_query(const http::Request& request) {
    TaskQuery query;
    auto filters = read_filters(request, kTaskFields);
    if (!filters) return filters.take_error();
    query.filters = std::move(*filters);
    auto paging = read_paging(request, CursorFamily::tasks, !query.filters.empty());
    if (!paging) return paging.take_error();
    query.paging = std::move(*paging);
    return query;
}

}  // namespace mf::api
