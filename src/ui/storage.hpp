#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "datastore/cached_reader.hpp"
#include "http/message.hpp"
#include "store/ui_reader.hpp"
#include "ui/database_routes.hpp"

// What the routes that read the flows' datastore share: finding, through the database, the
// folders a request's path names, and the reference's error replies.
namespace mf::ui {

// The flows' datastore as the environment configures it (docs/datastore.md), with its
// caches; without one, `missing` says what to set.
struct Storage {
    std::unique_ptr<datastore::CachedReader> reader;
    std::string missing;
};
Storage storage_from_environment();

// The reference's reply to a failure it did not expect: 500 with
// {"id", "traceback", "detail", "status": 500, "title": "Internal Server Error",
// "type": "about:blank"}; `id` is the name the UI shows a message for. There is never a
// traceback (null).
http::Reply internal_error_reply(std::string_view id, std::string_view detail);

// The cell of `column` in a row of `resource`; null when the column is absent or NULL.
const std::optional<std::string>& cell(UiResource resource, const UiRow& row,
                                       std::string_view column);

// The folder of the task or artifact row: the run's run_id when it has one, else its number;
// the task's name when it has one, else its id.
datastore::TaskPath task_path_of(UiResource resource, const UiRow& row);

// The task of the request's path, with its attempts, newest first.
struct TaskAttempts {
    datastore::TaskPath path;
    std::string task_id;     // as the database numbers it
    std::string run_number;  // likewise
    std::vector<int> attempts;
};
boost::asio::awaitable<Result<std::optional<TaskAttempts>>> find_task(
    const DatabaseContext& context, const http::Request& request);

// The `_parameters` task of the request's run.
boost::asio::awaitable<Result<std::optional<datastore::TaskPath>>> find_parameters_task(
    const DatabaseContext& context, const http::Request& request);

// The values of artifact rows as the UI shows them (Python's str() after a JSON round
// trip), one result per row, in order; without a datastore, each error says why.
boost::asio::awaitable<std::vector<Result<std::string>>> artifact_values(
    const DatabaseContext& context, const std::vector<UiRow>& rows);

// Why a value could not be shown, as the reference writes it:
// {"id", "detail", "traceback": null}, with "generic-error" for a failure without an id.
std::string value_error_json(const Error& error);

// `postprocess=true` (also `True`, `1`) and `invalidate=true` (also `True`, `1`, `t`).
bool postprocess_requested(const http::Request& request);
bool invalidate_requested(const http::Request& request);

// With `postprocess=true`, the datastore's additions to listed rows, one JSON fragment per
// row (", \"content\": ..." or ", \"postprocess_error\": {...}" and ", \"foreach_label\"");
// task rows whose status is "unknown" get the one their `_task_ok` says. Without a datastore,
// each row says why in its postprocess_error.
boost::asio::awaitable<std::vector<std::string>> postprocess_rows(const DatabaseContext& context,
                                                                  UiResource resource,
                                                                  std::vector<UiRow>& rows);

}  // namespace mf::ui
