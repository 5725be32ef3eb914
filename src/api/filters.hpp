#pragma once

#include "http/message.hpp"
#include "model/query.hpp"
#include "model/result.hpp"

namespace mf::api {

// The filter grammar of the run and task lists (docs/api.md#filters), with paging
// (docs/api.md#pagination).
Result<RunQuery> read_run_query(const http::Request& request);
Result<TaskQuery> read_task_query(const http::Request& request);

}  // namespace mf::api
