#include <algorithm>

#include <boost/json/serialize.hpp>

#include "api/json_writer.hpp"
#include "model/text.hpp"
#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {
namespace {

constexpr std::int64_t kDefaultCardLimit = 1000;

std::int64_t positive_or(const std::string* text, std::int64_t fallback) {
    const auto value = text ? parse_number<std::int64_t>(*text) : std::nullopt;
    return value && *value >= 1 ? *value : fallback;
}

http::Reply html_reply(unsigned status, std::string body) {
    http::Reply reply;
    reply.status = status;
    reply.content_type = "text/html";
    reply.version_header = false;
    reply.body = std::move(body);
    return reply;
}

std::string hash_of(const http::Request& request) {
    for (const auto& [name, value] : request.path_params) {
        if (name == "hash") return value;
    }
    return {};
}

http::Reply task_not_found() {
    return html_reply(404, "Task not found.");
}

http::Reply storage_failure(const Error& error) {
    return internal_error_reply(error.id.empty() ? "generic-error" : error.id, error.message);
}

// The task of the request and the datastore, or the reply that ends the request.
boost::asio::awaitable<std::variant<TaskAttempts, http::Reply>> card_task(
    const DatabaseContext& context, const http::Request& request, http::Reply unknown_task) {
    auto task = co_await find_task(context, request);
    if (!task) co_return internal_error_reply("generic-error", "the database could not answer");
    if (!*task) co_return std::move(unknown_task);
    if (!context.storage) co_return internal_error_reply("generic-error", context.storage_missing);
    co_return std::move(**task);
}

boost::asio::awaitable<http::Reply> card_list(const DatabaseContext& context,
                                              const http::Request& request) {
    auto found = co_await card_task(context, request, json_reply(404, "{\"data\": []}"));
    if (auto* reply = std::get_if<http::Reply>(&found)) co_return std::move(*reply);
    auto cards = co_await context.storage->cards(std::get<TaskAttempts>(found).path);
    if (!cards) co_return storage_failure(cards.error());
    if (cards->empty()) co_return json_reply(200, "{\"data\": []}");
    // The default card (it has no id) first, then the others by id.
    std::stable_sort(cards->begin(), cards->end(),
                     [](const datastore::CardInfo& a, const datastore::CardInfo& b) {
                         if (a.id.has_value() != b.id.has_value()) return !a.id.has_value();
                         return a.id.value_or("") < b.id.value_or("");
                     });
    const Paging paging{positive_or(request.query_value("_page"), 1),
                        positive_or(request.query_value("_limit"), kDefaultCardLimit)};
    const auto total = static_cast<std::int64_t>(cards->size());
    const std::int64_t pages = std::max<std::int64_t>(1, (total + paging.limit - 1) / paging.limit);
    const std::int64_t first = std::min(total, (paging.page - 1) * paging.limit);
    const std::int64_t end = std::min(total, first + paging.limit);
    api::JsonWriter json;
    json.begin_array();
    for (std::int64_t i = first; i < end; ++i) {
        const auto& card = (*cards)[static_cast<std::size_t>(i)];
        json.begin_object();
        json.key("id").optional_string(card.id);
        json.key("hash").string(card.hash);
        json.key("type").string(card.type);
        json.end_object();
    }
    json.end_array();
    co_return list_reply(request, LinkBase{context.base_url}, paging, json.take(),
                         static_cast<std::size_t>(end - first), pages);
}

}  // namespace

// A task's cards: the list, one card's HTML, and a realtime card's data. Cards are read as
// they are now, so a running task's cards show as they are updated.
void add_card_routes(http::Router& router, const DatabaseContext& context) {
    const std::string task = "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}";
    router.add("GET", task + "/cards",
               [&context](http::Request& request) { return card_list(context, request); });
    router.add("GET", task + "/cards/{hash}",
               [&context](http::Request& request) -> boost::asio::awaitable<http::Reply> {
                   auto found = co_await card_task(context, request, task_not_found());
                   if (auto* reply = std::get_if<http::Reply>(&found)) co_return std::move(*reply);
                   auto html = co_await context.storage->card_html(
                       std::get<TaskAttempts>(found).path, hash_of(request));
                   if (!html && html.error().kind == ErrorKind::not_found) {
                       co_return html_reply(
                           404,
                           "Card not found for task. Possibly still being processed. "
                           "Please refresh page to check again.");
                   }
                   if (!html) co_return storage_failure(html.error());
                   co_return html_reply(200, std::move(*html));
               });
    router.add("GET", task + "/cards/{hash}/data",
               [&context](http::Request& request) -> boost::asio::awaitable<http::Reply> {
                   auto found = co_await card_task(context, request, task_not_found());
                   if (auto* reply = std::get_if<http::Reply>(&found)) co_return std::move(*reply);
                   auto data = co_await context.storage->card_data(
                       std::get<TaskAttempts>(found).path, hash_of(request));
                   if (!data && data.error().kind == ErrorKind::not_found)
                       co_return json_reply(404, "{\"error\": \"Card data not found for task\"}");
                   if (!data) co_return storage_failure(data.error());
                   co_return json_reply(200, boost::json::serialize(*data));
               });
}

}  // namespace mf::ui
