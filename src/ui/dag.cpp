#include <boost/json/serialize.hpp>

#include "ui/resource_routes.hpp"
#include "ui/storage.hpp"

namespace mf::ui {

// A run's DAG: the `_graph_info` artifact its `_parameters` task wrote. A run without that
// task is not found; a failure answers the reference's 500 with the datastore's error id
// ("failed-to-process-dag" when it has none).
void add_dag_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/flows/{flow_id}/runs/{run_number}/dag",
               [&context](http::Request& request) -> boost::asio::awaitable<http::Reply> {
                   constexpr std::string_view failed = "failed-to-process-dag";
                   auto task = co_await find_parameters_task(context, request);
                   if (!task)
                       co_return internal_error_reply(failed, "the database could not answer");
                   if (!*task)
                       co_return single_json_reply(request, LinkBase{context.base_url}, "{}", 404);
                   if (!context.storage)
                       co_return internal_error_reply(failed, context.storage_missing);
                   auto dag = co_await context.storage->dag(**task, invalidate_requested(request));
                   if (!dag) {
                       const auto& error = dag.error();
                       co_return internal_error_reply(error.id.empty() ? failed : error.id,
                                                      error.message);
                   }
                   co_return single_json_reply(request, LinkBase{context.base_url},
                                               boost::json::serialize(**dag));
               });
}

}  // namespace mf::ui
