#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/query.hpp"
#include "model/result.hpp"

// What both SQL stores share of the run and task filters (docs/api.md#filters) and of the derived
// run status (docs/api.md#run-status). Each store adds its dialect's operators, casts and owner
// expression.
namespace mf::sql {

// Seconds since its last heartbeat after which a run without an end result counts as failed
// (RUN_INACTIVE_CUTOFF_TIME, docs/api.md#run-status).
inline constexpr std::int64_t kRunInactiveCutoffSeconds = 360;

enum class FieldKind { plain, json, status };

// The fields a filter may name, mapped to fixed SQL: filter field names never reach SQL.
struct FilterField {
    std::string_view name;
    std::string_view expression;
    FieldKind kind = FieldKind::plain;
};

// `owner` is the dialect's expression of the verified owner (docs/api.md#objects).
constexpr std::array<FilterField, 10> run_filter_fields(std::string_view owner) {
    return {
        FilterField{"flow_id", "r.flow_id"},
        FilterField{"run_number", "r.run_number"},
        FilterField{"run_id", "r.run_id"},
        FilterField{"user_name", "r.user_name"},
        FilterField{"ts_epoch", "r.ts_epoch"},
        FilterField{"last_heartbeat_ts", "r.last_heartbeat_ts"},
        FilterField{"tags", "r.tags", FieldKind::json},
        FilterField{"system_tags", "r.system_tags", FieldKind::json},
        FilterField{"user", owner},
        FilterField{"status", "", FieldKind::status},
    };
}

inline constexpr std::array kTaskFilterFields = {
    FilterField{"task_id", "t.task_id"},
    FilterField{"task_name", "t.task_name"},
    FilterField{"user_name", "t.user_name"},
    FilterField{"ts_epoch", "t.ts_epoch"},
    FilterField{"last_heartbeat_ts", "t.last_heartbeat_ts"},
};

// The LIKE pattern of a contains / starts-with / ends-with filter; other operators' values
// are used as they are.
inline std::string like_pattern(FilterOp op, const std::string& value) {
    switch (op) {
        case FilterOp::co:
            return "%" + value + "%";
        case FilterOp::sw:
            return value + "%";
        case FilterOp::ew:
            return "%" + value;
        default:
            return value;
    }
}

// How a dialect writes the operators that differ between the stores.
struct Operators {
    std::string_view is;    // IS with a value: null-safe equality
    std::string_view like;  // case-insensitive LIKE
};

inline std::string_view comparison(FilterOp op, const Operators& operators) {
    switch (op) {
        case FilterOp::eq:
            return " = ";
        case FilterOp::ne:
            return " != ";
        case FilterOp::lt:
            return " < ";
        case FilterOp::le:
            return " <= ";
        case FilterOp::gt:
            return " > ";
        case FilterOp::ge:
            return " >= ";
        case FilterOp::is:
            return operators.is;
        case FilterOp::co:
        case FilterOp::sw:
        case FilterOp::ew:
        case FilterOp::li:
            return operators.like;
    }
    return " = ";  // not reached: the switch names every operator
}

inline bool is_like(FilterOp op) {
    return op == FilterOp::co || op == FilterOp::sw || op == FilterOp::ew || op == FilterOp::li;
}

// Appends every filter with `append_filter(query, field, filter)`; a field the list does not
// name is the client's error.
template <class Query, std::size_t N, class AppendFilter>
Result<Ok> append_filters(Query& query, const std::array<FilterField, N>& fields,
                          const std::vector<Filter>& filters, AppendFilter append_filter) {
    for (const auto& filter : filters) {
        const FilterField* field = nullptr;
        for (const auto& candidate : fields) {
            if (candidate.name == filter.field) field = &candidate;
        }
        if (!field) return Error::invalid("unsupported filter field '" + filter.field + "'");
        append_filter(query, *field, filter);
    }
    return Ok{};
}

// " FROM ... WHERE": the records of the run's end step with this field name. The reference calls
// the newest attempt_ok one OK and the newest attempt one ATT.
template <class Query>
Query& end_step_records(Query& query, std::string_view field_name) {
    query.sql(" FROM metadata_v3 m WHERE m.flow_id = r.flow_id AND m.run_number = r.run_number");
    return query.sql(" AND m.step_name = 'end' AND m.field_name = '").sql(field_name).sql("'");
}

}  // namespace mf::sql
