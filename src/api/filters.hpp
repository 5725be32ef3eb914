#pragma once

#include "http/message.hpp"
#include "model/query.hpp"
#include "model/result.hpp"

namespace mf::api {

// The filter grammar of the run and task lists (spec 5.5), with paging (5.1).
Result<RunQuery> read_run_query(const http::Request& request);
Result<TaskQuery> read_task_query(const http::Request& request);

}  // namespace mf::api
