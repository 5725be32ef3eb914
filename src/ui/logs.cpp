#include <algorithm>
#include <memory>

#include "api/json_writer.hpp"
#include "model/text.hpp"
#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {
namespace {

using datastore::LogStream;

constexpr std::int64_t kDefaultLogLimit = 1000;
constexpr std::int64_t kMaxLogLimit = 10000;
constexpr std::size_t kDownloadLines = 1000;  // lines per part of a streamed download

http::Reply value_error(std::string_view text) {
    return internal_error_reply(
        "generic-error", "invalid literal for int() with base 10: '" + std::string(text) + "'");
}

http::Reply no_log() {
    return json_reply(404, "{\"data\": []}");
}

// The query's integer `key`, or `fallback` when absent; an error reply when Python's int()
// would fail on it.
std::variant<std::int64_t, http::Reply> query_int(const http::Request& request,
                                                  std::string_view key, std::int64_t fallback) {
    const std::string* text = request.query_value(key);
    if (!text) return fallback;
    auto value = parse_python_number<std::int64_t>(*text);
    if (!value) return value_error(*text);
    return *value;
}

struct LogRequest {
    TaskAttempts task;
    int attempt = 0;
};

// The task and attempt a log request names, or the reply that ends it.
boost::asio::awaitable<std::variant<LogRequest, http::Reply>> log_request(
    const DatabaseContext& context, const http::Request& request) {
    auto attempt = query_int(request, "attempt_id", -1);
    if (auto* reply = std::get_if<http::Reply>(&attempt)) co_return std::move(*reply);
    auto task = co_await find_task(context, request);
    if (!task) co_return internal_error_reply("log-error", "the database could not answer");
    if (!*task) co_return no_log();
    LogRequest found{std::move(**task), 0};
    const auto wanted = std::get<std::int64_t>(attempt);
    if (wanted < 0) {
        found.attempt = found.task.attempts.front();
    } else if (std::ranges::find(found.task.attempts, wanted) != found.task.attempts.end()) {
        found.attempt = static_cast<int>(wanted);
    } else {
        co_return no_log();
    }
    if (!context.storage) co_return internal_error_reply("log-error", context.storage_missing);
    co_return found;
}

// A page of the attempt's log: rows keep their place in the whole log; `_order=-row` pages
// from the end, newest first; `pages.last` is the number of pages.
boost::asio::awaitable<http::Reply> log_page(const DatabaseContext& context,
                                             const http::Request& request, LogStream stream) {
    auto limit = query_int(request, "_limit", kDefaultLogLimit);
    if (auto* reply = std::get_if<http::Reply>(&limit)) co_return std::move(*reply);
    auto page = query_int(request, "_page", 1);
    if (auto* reply = std::get_if<http::Reply>(&page)) co_return std::move(*reply);
    auto found = co_await log_request(context, request);
    if (auto* reply = std::get_if<http::Reply>(&found)) co_return std::move(*reply);
    const auto& log = std::get<LogRequest>(found);
    auto lines = co_await context.storage->log(log.task.path, log.attempt, stream);
    if (!lines) co_return internal_error_reply("log-error", lines.error().message);

    const Paging paging{std::max<std::int64_t>(std::get<std::int64_t>(page), 1),
                        std::clamp<std::int64_t>(std::get<std::int64_t>(limit), 1, kMaxLogLimit)};
    const std::string* order = request.query_value("_order");
    const bool reverse = order && order->starts_with("-row");
    auto result = datastore::paginate_log(**lines, static_cast<std::size_t>(paging.page),
                                          static_cast<std::size_t>(paging.limit), reverse);
    api::JsonWriter json;
    json.begin_array();
    for (const auto& row : result.rows) {
        json.begin_object();
        json.key("row").number(static_cast<std::int64_t>(row.row));
        if (row.line->timestamp_ms) {
            json.key("timestamp").number(*row.line->timestamp_ms);
        } else {
            json.key("timestamp").null();
        }
        json.key("line").string(row.line->line);
        json.end_object();
    }
    json.end_array();
    co_return list_reply(request, LinkBase{context.base_url}, paging, json.take(),
                         result.rows.size(), static_cast<std::int64_t>(result.pages));
}

// The attempt's whole log as text, streamed a thousand lines at a time.
boost::asio::awaitable<http::Reply> log_download(const DatabaseContext& context,
                                                 const http::Request& request, LogStream stream) {
    auto found = co_await log_request(context, request);
    if (auto* reply = std::get_if<http::Reply>(&found)) co_return std::move(*reply);
    const auto& log = std::get<LogRequest>(found);
    auto lines = co_await context.storage->log(log.task.path, log.attempt, stream);
    if (!lines) co_return internal_error_reply("log-error", lines.error().message);

    http::Reply reply;
    reply.content_type = "application/octet-stream";
    reply.version_header = false;
    reply.headers.emplace_back(
        "Content-Disposition",
        "Attachment;filename=" + std::string(stream == LogStream::out ? "stdout" : "stderr") + "_" +
            log.task.path.flow + "_" + log.task.run_number + "_" + log.task.path.step + "_" +
            log.task.task_id + "-" + std::to_string(log.attempt) + ".txt");
    auto all = std::move(*lines);
    auto next = std::make_shared<std::size_t>(0);
    auto part = [all, next]() -> std::optional<std::string> {
        if (*next >= all->size()) return std::nullopt;
        std::string text;
        const std::size_t end = std::min(all->size(), *next + kDownloadLines);
        for (std::size_t i = *next; i < end; ++i) {
            if (i > 0) text += '\n';
            text += (*all)[i].line;
        }
        *next = end;
        return text;
    };
    reply.body = part().value_or("");
    reply.more_body = [part]() -> boost::asio::awaitable<std::optional<std::string>> {
        co_return part();
    };
    co_return reply;
}

}  // namespace

// Task logs, out and err, by page or whole. A task or attempt the database does not know
// answers 404 {"data": []}, as the reference.
void add_log_routes(http::Router& router, const DatabaseContext& context) {
    const std::string task = "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}";
    for (auto [name, stream] :
         {std::pair{"out", LogStream::out}, std::pair{"err", LogStream::err}}) {
        router.add("GET", task + "/logs/" + name, [&context, stream](http::Request& request) {
            return log_page(context, request, stream);
        });
        router.add("GET", task + "/logs/" + name + "/download",
                   [&context, stream](http::Request& request) {
                       return log_download(context, request, stream);
                   });
    }
}

}  // namespace mf::ui
