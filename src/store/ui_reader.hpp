#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/ids.hpp"
#include "model/query.hpp"
#include "model/result.hpp"
#include "store/store.hpp"

// The web UI's reads: every list is one query over a resource's rows with their derived
// columns (status, finished_at, duration, attempt_id, user, run), so that filters, order,
// grouping and pages apply to those columns as to stored ones.
namespace mf {

enum class UiResource { flows, runs, steps, tasks, metadata, artifacts };

enum class UiColumnKind { integer, text, json };

// A column of a resource's rows, in the order the UI's JSON lists them.
struct UiColumn {
    std::string_view name;
    UiColumnKind kind = UiColumnKind::text;
    bool nullable = true;
    bool filterable = true;  // also orderable
    bool groupable = false;
};

std::span<const UiColumn> ui_columns(UiResource resource);
const UiColumn* find_ui_column(UiResource resource, std::string_view name);

// Which rows a route reads: every unset member is unrestricted.
struct UiScope {
    std::optional<std::string> flow_id;
    std::optional<ObjectKey> run;
    std::optional<std::string> step_name;
    std::optional<ObjectKey> task;  // only with step_name
};

struct UiOrder {
    std::string column;
    bool descending = true;
};

// The thresholds of the derived statuses, and the time they are measured against.
struct UiStatusClock {
    std::int64_t now_ms = 0;
    std::int64_t heartbeat_threshold_s = 60;              // a task's heartbeat older is stale
    std::int64_t run_inactive_cutoff_s = 360;             // a run's heartbeat older is stale
    std::int64_t old_run_failure_cutoff_ms = 86'400'000;  // without heartbeats, older is failed
};

// A run by its numbers, or with step_name and task_id a task.
struct UiKey {
    std::string flow_id;
    std::int64_t run_number = 0;
    std::string step_name;
    std::int64_t task_id = 0;
};

struct UiListQuery {
    UiResource resource = UiResource::runs;
    UiScope scope;
    // Set (runs or tasks only): the rows of these runs, or each of these tasks' newest
    // attempt, in no particular order, in one statement however many keys; the scope,
    // filters, order, groups and page are then ignored.
    std::optional<std::vector<UiKey>> keys;
    // Columns already checked against ui_columns(resource).
    std::vector<Filter> filters;
    std::vector<TagFilter> tag_filters;
    std::vector<UiOrder> order;
    // With groups, limit and offset page the groups (in ascending order of their values,
    // nulls last) and each group keeps its first group_limit rows in `order`.
    std::vector<std::string> group;
    std::int64_t group_limit = 10;
    std::int64_t limit = 10;  // 0: every row
    std::int64_t offset = 0;
    // Set: the distinct values of this column, ascending, instead of whole rows.
    std::optional<std::string> distinct_column;
    UiStatusClock clock;
};

// One row, a cell per column of ui_columns(resource) (one cell for a distinct list): the
// value's text, null for SQL NULL. Integers are decimal text, json columns JSON text.
using UiRow = std::vector<std::optional<std::string>>;

class UiReader {
public:
    virtual ~UiReader() = default;
    // invalid when a filter value does not fit its column's type.
    virtual Async<std::vector<UiRow>> ui_list(UiListQuery query) = 0;
    // Every distinct tag and system tag of every run, in no particular order.
    virtual Async<std::vector<std::string>> ui_run_tags() = 0;
};

}  // namespace mf
