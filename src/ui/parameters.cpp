#include <boost/json/serialize.hpp>

#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {

// A run's parameters: the artifacts of its `_parameters` task but the internal ones, as
// {"<name>": {"value": <value>}}. As the reference, a run the database does not know is a
// 500 ("generic-error"), and a failure to read them "failed-to-get-parameters".
void add_parameter_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/parameters",
               [&context](http::Request& request) -> boost::asio::awaitable<http::Reply> {
                   constexpr std::string_view failed = "failed-to-get-parameters";
                   auto task = co_await find_parameters_task(context, request);
                   if (!task)
                       co_return internal_error_reply(failed, "the database could not answer");
                   if (!*task) co_return internal_error_reply("generic-error", "no such run");
                   if (!context.storage)
                       co_return internal_error_reply(failed, context.storage_missing);
                   auto parameters =
                       co_await context.storage->parameters(**task, invalidate_requested(request));
                   if (!parameters) {
                       co_return internal_error_reply(
                           failed, "Failed to Get Parameters: " + parameters.error().message);
                   }
                   co_return single_json_reply(request, LinkBase{context.base_url},
                                               boost::json::serialize(**parameters));
               });
}

}  // namespace mf::ui
