#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mf {

// Position after which a page starts: every list is ordered by a descending key tuple
// whose first member is ts_epoch (docs/api.md#pagination). `id` holds the numeric second member
// (run number, task id, metadata id) and `name` the string one (flow id, artifact name).
struct CursorKey {
    std::int64_t ts_epoch = 0;
    std::int64_t id = 0;
    std::string name;
};

struct Paging {
    std::int64_t limit = 50;
    std::optional<CursorKey> after;
    // A legacy (unpaginated) list read in pages so that it can be streamed: the rows are
    // the legacy list's, in the same order. Only artifact lists pick other rows when paged.
    bool legacy_rows = false;
};

enum class FilterOp { eq, ne, lt, le, gt, ge, co, sw, ew, li, is };

// One query parameter of the filter grammar (docs/api.md#filters): the values are OR-ed, a nullopt
// value stands for SQL NULL. Separate filters are AND-ed.
struct Filter {
    std::string field;
    FilterOp op = FilterOp::eq;
    std::vector<std::optional<std::string>> values;
};

struct TagFilter {
    enum class Mode { all, any, likeall, likeany };
    Mode mode = Mode::all;
    std::vector<std::string> values;
};

struct RunQuery {
    std::vector<Filter> filters;  // fields already checked against the run field list
    std::vector<TagFilter> tag_filters;
    bool with_status = false;      // fill Run::status (a status filter was given)
    std::optional<Paging> paging;  // nullopt: the legacy unbounded list
};

struct TaskQuery {
    std::vector<Filter> filters;
    std::optional<Paging> paging;
};

struct TaskPatternQuery {
    std::optional<std::string> field_name;
    std::optional<std::string> pattern;  // POSIX extended regular expression
};

}  // namespace mf
