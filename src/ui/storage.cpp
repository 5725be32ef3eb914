#include "ui/storage.hpp"

#include "api/json_writer.hpp"
#include "model/text.hpp"
#include "ui/envelope.hpp"
#include "ui/resource_routes.hpp"

namespace mf::ui {
namespace {

int attempt_number(const std::optional<std::string>& text) {
    return text ? parse_number<int>(*text).value_or(0) : 0;
}

Error no_storage(const DatabaseContext& context) {
    return Error::unavailable(context.storage_missing).with_id("generic-error");
}

boost::asio::awaitable<std::vector<std::string>> artifact_additions(
    const DatabaseContext& context, const std::vector<UiRow>& rows) {
    const auto contents = co_await artifact_values(context, rows);
    std::vector<std::string> additions;
    for (const auto& content : contents) {
        additions.push_back(content
                                ? ", \"content\": " + api::json_string(content.value())
                                : ", \"postprocess_error\": " + value_error_json(content.error()));
    }
    co_return additions;
}

boost::asio::awaitable<std::vector<std::string>> task_additions(const DatabaseContext& context,
                                                                std::vector<UiRow>& rows) {
    std::vector<datastore::AttemptPath> wanted;
    for (const auto& row : rows) {
        wanted.push_back({task_path_of(UiResource::tasks, row),
                          attempt_number(cell(UiResource::tasks, row, "attempt_id"))});
    }
    std::vector<Result<datastore::TaskRefinement>> refinements;
    if (context.storage) {
        refinements = co_await context.storage->refine_tasks(std::move(wanted));
    } else {
        for (std::size_t i = 0; i < rows.size(); ++i) refinements.emplace_back(no_storage(context));
    }
    const auto columns = ui_columns(UiResource::tasks);
    std::size_t status_index = 0;
    while (columns[status_index].name != "status") ++status_index;
    std::vector<std::string> additions;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& refinement = refinements[i];
        std::string addition;
        if (!refinement) {
            // A task that has not written `_task_ok` yet is not refined, and not in error.
            if (refinement.error().kind != ErrorKind::not_found)
                addition = ", \"postprocess_error\": " + value_error_json(refinement.error());
            additions.push_back(std::move(addition));
            continue;
        }
        auto& status = rows[i][status_index];
        if (status == "unknown" && refinement->task_ok)
            status = *refinement->task_ok ? "completed" : "failed";
        if (refinement->foreach_index) {
            const auto& task_id = cell(UiResource::tasks, rows[i], "task_id");
            addition = ", \"foreach_label\": " +
                       api::json_string(task_id.value_or("") + "[" +
                                        std::to_string(*refinement->foreach_index) + "]");
        }
        additions.push_back(std::move(addition));
    }
    co_return additions;
}

bool flag(const http::Request& request, std::string_view key,
          std::initializer_list<std::string_view> truths) {
    const std::string* value = request.query_value(key);
    if (!value) return false;
    for (auto truth : truths) {
        if (*value == truth) return true;
    }
    return false;
}

}  // namespace

std::string value_error_json(const Error& error) {
    api::JsonWriter json;
    json.begin_object();
    json.key("id").string(error.id.empty() ? "generic-error" : error.id);
    json.key("detail").string(error.message);
    json.key("traceback").null();
    json.end_object();
    return json.take();
}

boost::asio::awaitable<std::vector<Result<std::string>>> artifact_values(
    const DatabaseContext& context, const std::vector<UiRow>& rows) {
    std::vector<datastore::ArtifactPath> wanted;
    for (const auto& row : rows) {
        const auto& name = cell(UiResource::artifacts, row, "name");
        wanted.push_back({task_path_of(UiResource::artifacts, row),
                          attempt_number(cell(UiResource::artifacts, row, "attempt_id")),
                          name.value_or("")});
    }
    if (context.storage) co_return co_await context.storage->artifact_contents(std::move(wanted));
    std::vector<Result<std::string>> contents;
    for (std::size_t i = 0; i < rows.size(); ++i) contents.emplace_back(no_storage(context));
    co_return contents;
}

Storage storage_from_environment() {
    const auto env = datastore::process_environment();
    auto datastore = datastore::Datastore::from_environment(env);
    if (!datastore) return {nullptr, datastore.error().message};
    if (!*datastore) {
        return {nullptr,
                "no datastore is configured: set METAFLOW_DATASTORE_SYSROOT_S3 or "
                "METAFLOW_DATASTORE_SYSROOT_LOCAL"};
    }
    return {std::make_unique<datastore::CachedReader>(
                std::move(*datastore), datastore::cache_limits_from_environment(env)),
            {}};
}

http::Reply internal_error_reply(std::string_view id, std::string_view detail) {
    api::JsonWriter json;
    json.begin_object();
    json.key("id").string(id);
    json.key("traceback").null();
    json.key("detail").string(detail);
    json.key("status").number(500);
    json.key("title").string("Internal Server Error");
    json.key("type").string("about:blank");
    json.end_object();
    return json_reply(500, json.take());
}

const std::optional<std::string>& cell(UiResource resource, const UiRow& row,
                                       std::string_view column) {
    static const std::optional<std::string> absent;
    const auto columns = ui_columns(resource);
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if (columns[i].name == column) return row[i];
    }
    return absent;
}

datastore::TaskPath task_path_of(UiResource resource, const UiRow& row) {
    const auto& run_id = cell(resource, row, "run_id");
    const auto& task_name = cell(resource, row, "task_name");
    return {cell(resource, row, "flow_id").value_or(""),
            run_id ? *run_id : cell(resource, row, "run_number").value_or(""),
            cell(resource, row, "step_name").value_or(""),
            task_name ? *task_name : cell(resource, row, "task_id").value_or("")};
}

boost::asio::awaitable<Result<std::optional<TaskAttempts>>> find_task(
    const DatabaseContext& context, const http::Request& request) {
    UiListQuery query{.resource = UiResource::tasks,
                      .scope = scope_of(request),
                      .order = {{"attempt_id", true}},
                      .limit = 0,
                      .clock = status_clock(context)};
    auto rows = co_await context.reader.ui_list(std::move(query));
    if (!rows) co_return rows.take_error();
    if (rows->empty()) co_return std::optional<TaskAttempts>();
    const UiRow& newest = rows->front();
    TaskAttempts task{.path = task_path_of(UiResource::tasks, newest),
                      .task_id = cell(UiResource::tasks, newest, "task_id").value_or(""),
                      .run_number = cell(UiResource::tasks, newest, "run_number").value_or(""),
                      .attempts = {}};
    for (const auto& row : *rows)
        task.attempts.push_back(attempt_number(cell(UiResource::tasks, row, "attempt_id")));
    co_return std::optional<TaskAttempts>(std::move(task));
}

boost::asio::awaitable<Result<std::optional<datastore::TaskPath>>> find_parameters_task(
    const DatabaseContext& context, const http::Request& request) {
    UiScope scope = scope_of(request);
    scope.step_name = "_parameters";
    UiListQuery query{.resource = UiResource::tasks,
                      .scope = std::move(scope),
                      .limit = 1,
                      .clock = status_clock(context)};
    auto rows = co_await context.reader.ui_list(std::move(query));
    if (!rows) co_return rows.take_error();
    if (rows->empty()) co_return std::optional<datastore::TaskPath>();
    co_return std::optional<datastore::TaskPath>(task_path_of(UiResource::tasks, rows->front()));
}

bool postprocess_requested(const http::Request& request) {
    return flag(request, "postprocess", {"true", "True", "1"});
}

bool invalidate_requested(const http::Request& request) {
    return flag(request, "invalidate", {"true", "True", "1", "t"});
}

boost::asio::awaitable<std::vector<std::string>> postprocess_rows(const DatabaseContext& context,
                                                                  UiResource resource,
                                                                  std::vector<UiRow>& rows) {
    if (resource == UiResource::artifacts) co_return co_await artifact_additions(context, rows);
    if (resource == UiResource::tasks) co_return co_await task_additions(context, rows);
    co_return std::vector<std::string>(rows.size());
}

}  // namespace mf::ui
