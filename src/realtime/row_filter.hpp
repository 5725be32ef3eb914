#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "model/query.hpp"
#include "store/ui_reader.hpp"

namespace mf::realtime {

// Whether a row of `resource` passes the filters of a subscription, as the same filters
// select rows of a list: values of one filter OR-ed, filters AND-ed; integer columns compare
// as numbers (a value that is not a number matches nothing), others as text; `co`, `sw`,
// `ew` and `li` ignore case; a null value stands for no value. Tag filters look at tags and
// system_tags together.
bool row_matches(UiResource resource, const UiRow& row, const std::vector<Filter>& filters,
                 const std::vector<TagFilter>& tag_filters);

// Whether the row of `resource` that `scope` names (by number) may pass the filters, before it
// is read: false when a filter on one of the key columns the scope sets (flow_id, run_number,
// step_name, task_id) fails, whatever the row's other columns hold.
bool scope_may_match(UiResource resource, const UiScope& scope, const std::vector<Filter>& filters);

}  // namespace mf::realtime
