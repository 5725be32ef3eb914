#include "ui/search.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/json_writer.hpp"
#include "datastore/object_store.hpp"
#include "model/text.hpp"
#include "realtime/websocket.hpp"
#include "ui/realtime_route.hpp"
#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {
namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// An artifact search reads values in at most this many batches, with a progress frame after
// each.
constexpr std::size_t kProgressSteps = 20;

// What one search asks for. Query values are decoded once, as the UI encodes them.
struct SearchRequest {
    UiScope run;
    std::string key;  // empty when the request names none
    std::optional<std::string> value;
    bool artifacts = false;
    bool foreach_variables = false;
};

// `scope` is a comma-separated list; without one (or an empty one) the search is over
// artifacts, as the reference's.
SearchRequest read_search(const http::Request& request) {
    SearchRequest search{.run = scope_of(request)};
    if (const auto* key = request.query_value("key")) search.key = *key;
    if (const auto* value = request.query_value("value")) search.value = *value;
    const auto* scope = request.query_value("scope");
    if (!scope || scope->empty()) {
        search.artifacts = true;
        return search;
    }
    for (const auto item : split(*scope, ',')) {
        if (item == "ARTIFACT") search.artifacts = true;
        if (item == "FOREACH_VARIABLE") search.foreach_variables = true;
    }
    return search;
}

// A searched artifact value: a term in double quotes matches the whole value, any other
// anywhere in it; both ignore case.
class ValueTerm {
public:
    explicit ValueTerm(std::string_view term) {
        exact_ = term.size() >= 2 && term.front() == '"' && term.back() == '"';
        if (exact_) term = term.substr(1, term.size() - 2);
        lowered_ = ascii_lower(term);
    }
    bool matches(std::string_view shown) const {
        const std::string lowered = ascii_lower(shown);
        return exact_ ? lowered == lowered_ : lowered.find(lowered_) != std::string::npos;
    }

private:
    bool exact_ = false;
    std::string lowered_;
};

// The matches of a search so far, each task once (the first verdict about it wins), in the
// order found: a scope's result frame lists those of the scopes before it too.
class Matches {
public:
    // Starts the object of a match for the task of `row`: its keys as the UI names them
    // (run and task by run_id and task name when they have one), as strings. The caller
    // adds its members and ends the object; nullptr when the task matched already.
    api::JsonWriter* begin(UiResource resource, const UiRow& row) {
        const auto task = task_path_of(resource, row);
        if (!seen_.insert(task.step + "/" + task.task).second) return nullptr;
        auto& json = objects_.emplace_back();
        json.begin_object();
        json.key("flow_id").string(task.flow);
        json.key("run_number").string(task.run);
        json.key("step_name").string(task.step);
        json.key("task_id").string(task.task);
        return &json;
    }

    std::string result_frame() {
        std::string frame = R"({"event":{"type":"result","matches":[)";
        for (std::size_t i = 0; i < objects_.size(); ++i) {
            if (i > 0) frame += ',';
            frame += objects_[i].text();
        }
        return frame + "]}}";
    }

private:
    std::set<std::string> seen_;
    std::vector<api::JsonWriter> objects_;
};

std::string progress_frame(double fraction) {
    char number[32];
    auto [end, error] = std::to_chars(number, number + sizeof number, fraction);
    return R"({"event":{"type":"progress","fraction":)" + std::string(number, end) + "}}";
}

// The reference's frame when a search fails as a whole.
std::string failure_frame() {
    return R"({"event":{"type":"error","message":"Filter tasks failed",)"
           R"("id":"filter-tasks-failed","traceback":null,"key":null}})";
}

// One search over an accepted websocket: the frames, then the close.
class SearchSession {
public:
    SearchSession(const DatabaseContext& context, SearchRequest search, realtime::WebSocket& stream)
        : context_(context), search_(std::move(search)), stream_(stream) {}

    asio::awaitable<void> run() {
        bool searched = !search_.key.empty();
        if (searched && search_.foreach_variables) searched = co_await search_foreach_variables();
        if (searched && search_.artifacts) searched = co_await search_artifacts();
        if (!searched) {
            auto frame = failure_frame();
            co_await send(std::move(frame));
            co_await close(websocket::close_code::internal_error);
            co_return;
        }
        if (!search_.foreach_variables && !search_.artifacts) co_await send_result();
        co_await close(websocket::close_code::normal);
    }

private:
    UiListQuery run_query(UiResource resource, std::string column, std::string value) const {
        return UiListQuery{.resource = resource,
                           .scope = search_.run,
                           .filters = {Filter{std::move(column), FilterOp::eq, {std::move(value)}}},
                           .order = {{"task_id", false}, {"attempt_id", true}},
                           .limit = 0,
                           .clock = status_clock(context_)};
    }

    // Tasks whose foreach stack (their `foreach-stack` metadata, "{outer=a,inner=2}") holds
    // `key=value`, or `key` without a value, as text.
    asio::awaitable<bool> search_foreach_variables() {
        auto query = run_query(UiResource::metadata, "field_name", "foreach-stack");
        auto rows = co_await context_.reader.ui_list(std::move(query));
        if (!rows) co_return false;
        const std::string wanted = search_.value && !search_.value->empty()
                                       ? search_.key + "=" + *search_.value
                                       : search_.key;
        for (const auto& row : *rows) {
            const auto& stack = cell(UiResource::metadata, row, "value");
            if (!stack || stack->find(wanted) == std::string::npos) continue;
            if (auto* json = matches_.begin(UiResource::metadata, row)) {
                json->key("value").string(*stack);
                json->key("searchable").raw("true");
                json->end_object();
            }
        }
        co_await send_result();
        co_return true;
    }

    // The run's artifacts named `key`; with a value, those whose value matches it and those
    // whose value could not be read (searchable false, with the reason).
    asio::awaitable<bool> search_artifacts() {
        auto query = run_query(UiResource::artifacts, "name", search_.key);
        auto rows = co_await context_.reader.ui_list(std::move(query));
        if (!rows) co_return false;
        if (!search_.value) {
            for (const auto& row : *rows) {
                if (auto* json = matches_.begin(UiResource::artifacts, row)) {
                    json->key("searchable").raw("true");
                    json->end_object();
                }
            }
            co_await send_result();
            co_return true;
        }
        const ValueTerm term(*search_.value);
        const std::size_t total = rows->size();
        const std::size_t batch_size =
            std::max<std::size_t>(1, (total + kProgressSteps - 1) / kProgressSteps);
        for (std::size_t done = 0; done < total && open_;) {
            const std::size_t end = std::min(total, done + batch_size);
            const std::vector<UiRow> batch(rows->begin() + static_cast<std::ptrdiff_t>(done),
                                           rows->begin() + static_cast<std::ptrdiff_t>(end));
            const auto values = co_await artifact_values(context_, batch);
            for (std::size_t i = 0; i < batch.size(); ++i)
                add_value_match(batch[i], values[i], term);
            done = end;
            // A datastore out of reach is asked once per search, not once per batch.
            for (const auto& value : values) {
                if (value || !datastore::out_of_reach(value.error())) continue;
                for (; done < total; ++done) add_value_match((*rows)[done], value, term);
                break;
            }
            auto frame = progress_frame(static_cast<double>(done) / static_cast<double>(total));
            co_await send(std::move(frame));
        }
        co_await send_result();
        co_return true;
    }

    void add_value_match(const UiRow& row, const Result<std::string>& value,
                         const ValueTerm& term) {
        if (value && !term.matches(value.value())) return;
        auto* json = matches_.begin(UiResource::artifacts, row);
        if (!json) return;
        json->key("searchable").raw(value ? "true" : "false");
        if (value) {
            json->key("error").null();
        } else {
            json->key("error").raw(value_error_json(value.error()));
        }
        json->end_object();
    }

    asio::awaitable<void> send_result() {
        auto frame = matches_.result_frame();
        co_await send(std::move(frame));
    }

    asio::awaitable<void> send(std::string frame) {
        if (!open_) co_return;
        stream_.text(true);
        auto [error, written] = co_await stream_.async_write(asio::buffer(frame), kTuple);
        if (error) open_ = false;
    }

    asio::awaitable<void> close(websocket::close_code code) {
        if (!open_) co_return;
        const websocket::close_reason reason(code);
        // Whether the client answered the close or went away, the search is over.
        co_await stream_.async_close(reason, kTuple);
        open_ = false;
    }

    const DatabaseContext& context_;
    const SearchRequest search_;
    realtime::WebSocket& stream_;
    Matches matches_;
    bool open_ = true;
};

asio::awaitable<void> serve_search(asio::ip::tcp::socket socket, std::string target,
                                   realtime::UpgradeHeaders headers, const DatabaseContext& context,
                                   SearchRequest search) {
    realtime::WebSocket stream(std::move(socket));
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);  // also bounds the closing handshake
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = false;
    stream.set_option(timeouts);
    stream.read_message_max(64 * 1024);
    const bool accepted = co_await realtime::accept_upgrade(stream, target, headers);
    if (!accepted) co_return;
    SearchSession session(context, std::move(search), stream);
    co_await session.run();
}

// The connection, once upgraded, to its search. Made outside the handler's coroutine: GCC 12
// frees the captures of a lambda made inside one twice.
std::function<asio::awaitable<void>(asio::ip::tcp::socket&)> hand_over(
    const DatabaseContext& context, const http::Request& request) {
    return [&context, search = read_search(request), target = request.target,
            headers = request.headers](asio::ip::tcp::socket& socket) {
        return serve_search(std::move(socket), target, headers, context, search);
    };
}

}  // namespace

void add_search_routes(http::Router& router, const DatabaseContext& context) {
    const auto handler = [&context](http::Request& request) -> asio::awaitable<http::Reply> {
        if (!asks_for_websocket(request)) {
            co_return internal_error_reply("generic-error",
                                           "Bad Request: a websocket upgrade is expected");
        }
        http::Reply reply;
        reply.version_header = false;
        reply.status = 101;
        reply.take_over = hand_over(context, request);
        co_return reply;
    };
    router.add("GET", "/search/flows/{flow_id}/runs/{run_number}", handler);
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/search", handler);
}

}  // namespace mf::ui
