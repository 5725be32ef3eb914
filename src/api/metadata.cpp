#include "api/body.hpp"
#include "api/paging.hpp"
#include "api/routes.hpp"
#include "api/streaming.hpp"
#include "model/metadata_value.hpp"

namespace mf::api {
namespace {

namespace json = boost::json;

// The reference drops items it cannot store and still answers 200; here a bad item
// refuses the whole batch, so nothing is lost silently (docs/compatibility.md).
Result<std::vector<NewMetadata>> read_records(const json::value& body) {
    std::vector<NewMetadata> records;
    // An empty object counts as an empty batch, as in the reference.
    if (body.is_object() && body.as_object().empty()) return records;
    if (!body.is_array()) return Error::invalid("request body must be a JSON array of records");
    const auto& items = body.as_array();
    records.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::string context = "record " + std::to_string(i) + ": ";
        if (!items[i].is_object()) return Error::invalid(context + "must be a JSON object");
        FieldReader fields(items[i].as_object(), context);
        NewMetadata record;
        record.field_name = fields.short_string("field_name", " ").value_or(" ");
        record.type = fields.short_string("type", " ").value_or(" ");
        record.user_name = fields.short_string("user_name");
        record.tags = fields.tags("tags");
        record.system_tags = fields.tags("system_tags");
        if (const auto* value = fields.find("value")) {
            auto text = metadata_value_text(*value);
            if (!text) fields.fail("'value' must be a string, number, boolean or list");
            record.value = text.value_or("");
        } else {
            record.value = " ";
        }
        if (fields.error()) return *fields.error();
        records.push_back(std::move(record));
    }
    return records;
}

Awaitable add_metadata(const Context& context, http::Request& request) {
    auto body = parse_body(request.body);
    if (!body) co_return error_reply(body.error());
    auto records = read_records(*body);
    if (!records) co_return error_reply(records.error());
    auto created = co_await context.store.add_metadata(task_path(request), std::move(*records),
                                                       context.clock.now_ms());
    if (!created) co_return error_reply(created.error());
    co_return json_reply("{\"metadata_created\": " + std::to_string(*created) + "}");
}

Awaitable list_task_metadata(const Context& context, http::Request& request) {
    auto paging = read_paging(request, CursorFamily::metadata, false);
    if (!paging) co_return error_reply(paging.error());
    if (!*paging) {
        PageReader<Metadata> read_page = [&context, path = task_path(request)](Paging page) {
            return context.store.list_task_metadata(path, page);
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto records = co_await context.store.list_task_metadata(task_path(request), *paging);
    if (!records) co_return error_reply(records.error());
    co_return list_reply(std::move(*records), *paging, CursorFamily::metadata);
}

Awaitable list_run_metadata(const Context& context, http::Request& request) {
    auto paging = read_paging(request, CursorFamily::metadata, false);
    if (!paging) co_return error_reply(paging.error());
    if (!*paging) {
        PageReader<Metadata> read_page = [&context, path = run_path(request)](Paging page) {
            return context.store.list_run_metadata(path, page);
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto records = co_await context.store.list_run_metadata(run_path(request), *paging);
    if (!records) co_return error_reply(records.error());
    co_return list_reply(std::move(*records), *paging, CursorFamily::metadata);
}

}  // namespace

void add_metadata_routes(http::Router& router, const Context& context) {
    const std::string task = "/flows/{flow_id}/runs/{run_number}/steps/{step_name}/tasks/{task_id}";
    router.add("POST", task + "/metadata", [&context](http::Request& r) {
        return without_version_header(add_metadata(context, r));
    });
    router.add("GET", task + "/metadata",
               [&context](http::Request& r) { return list_task_metadata(context, r); });
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/metadata",
               [&context](http::Request& r) { return list_run_metadata(context, r); });
}

}  // namespace mf::api
