#include "api/body.hpp"
#include "api/paging.hpp"
#include "api/routes.hpp"
#include "api/streaming.hpp"
#include "model/text.hpp"

namespace mf::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMaxAttempt = 32767;  // the reference's smallint column

// Like metadata, a bad item refuses the whole batch instead of vanishing silently.
Result<std::vector<NewArtifact>> read_artifacts(const json::value& body) {
    std::vector<NewArtifact> artifacts;
    if (body.is_object() && body.as_object().empty()) return artifacts;
    if (!body.is_array()) return Error::invalid("request body must be a JSON array of artifacts");
    const auto& items = body.as_array();
    artifacts.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::string context = "artifact " + std::to_string(i) + ": ";
        if (!items[i].is_object()) return Error::invalid(context + "must be a JSON object");
        FieldReader fields(items[i].as_object(), context);
        NewArtifact artifact;
        // Missing text fields become a single space, as the reference stores them.
        artifact.name = fields.short_string("name", " ").value_or(" ");
        artifact.location = fields.short_string("location", " ").value_or(" ");
        artifact.ds_type = fields.short_string("ds_type", " ").value_or(" ");
        artifact.sha = fields.short_string("sha", " ");
        artifact.type = fields.short_string("type", " ");
        artifact.content_type = fields.short_string("content_type", " ");
        artifact.user_name = fields.short_string("user_name", " ");
        artifact.attempt_id =
            static_cast<std::int32_t>(fields.integer("attempt_id", 0, 0, kMaxAttempt));
        artifact.tags = fields.tags("tags");
        artifact.system_tags = fields.tags("system_tags");
        if (fields.error()) return *fields.error();
        artifacts.push_back(std::move(artifact));
    }
    return artifacts;
}

Result<std::int32_t> read_attempt(const http::Request& request) {
    const auto& text = request.param("attempt_id");
    const auto attempt = parse_number<std::int32_t>(text);
    if (!attempt || *attempt < 0 || *attempt > kMaxAttempt) {
        return Error::invalid("attempt_id must be an integer from 0 to 32767");
    }
    return *attempt;
}

Awaitable add_artifacts(const Context& context, http::Request& request) {
    auto body = parse_body(request.body);
    if (!body) co_return error_reply(body.error());
    auto artifacts = read_artifacts(*body);
    if (!artifacts) co_return error_reply(artifacts.error());
    auto created = co_await context.store.add_artifacts(task_path(request), std::move(*artifacts),
                                                        context.clock.now_ms());
    if (!created) co_return error_reply(created.error());
    co_return json_reply("{\"artifacts_created\": " + std::to_string(*created) + "}");
}

Awaitable get_artifact(const Context& context, http::Request& request,
                       std::optional<std::int32_t> attempt) {
    auto artifact = co_await context.store.get_artifact(task_path(request),
                                                        request.param("artifact_name"), attempt);
    if (!artifact) co_return error_reply(artifact.error());
    co_return json_reply(to_json(*artifact));
}

Awaitable get_latest_artifact(const Context& context, http::Request& request) {
    return get_artifact(context, request, std::nullopt);
}

Awaitable get_attempt_artifact(const Context& context, http::Request& request) {
    auto attempt = read_attempt(request);
    if (!attempt) co_return error_reply(attempt.error());
    co_return co_await get_artifact(context, request, *attempt);
}

Awaitable list_artifacts(const Context& context, http::Request& request, ArtifactScope scope) {
    auto paging = read_paging(request, CursorFamily::artifacts, false);
    if (!paging) co_return error_reply(paging.error());
    // One task's artifacts are few: read at once, by the task's own key, not in pages in
    // the run's list order.
    if (!*paging && !scope.task) {
        PageReader<Artifact> read_page = [&context, scope](Paging page) {
            return context.store.list_artifacts(scope, page);
        };
        co_return co_await streamed_list(std::move(read_page));
    }
    auto artifacts = co_await context.store.list_artifacts(std::move(scope), *paging);
    if (!artifacts) co_return error_reply(artifacts.error());
    co_return list_reply(std::move(*artifacts), *paging, CursorFamily::artifacts);
}

Awaitable list_attempt_artifacts(const Context& context, http::Request& request) {
    auto attempt = read_attempt(request);
    if (!attempt) co_return error_reply(attempt.error());
    auto artifacts = co_await context.store.list_attempt_artifacts(task_path(request), *attempt);
    if (!artifacts) co_return error_reply(artifacts.error());
    co_return json_reply(to_json(*artifacts));
}

ArtifactScope run_scope(const http::Request& r) {
    return {r.param("flow_id"), ObjectKey::parse(r.param("run_number")), std::nullopt,
            std::nullopt};
}

ArtifactScope step_scope(const http::Request& r) {
    auto scope = run_scope(r);
    scope.step_name = r.param("step_name");
    return scope;
}

ArtifactScope task_scope(const http::Request& r) {
    auto scope = step_scope(r);
    scope.task = ObjectKey::parse(r.param("task_id"));
    return scope;
}

}  // namespace

void add_artifact_routes(http::Router& router, const Context& context) {
    const std::string run = "/flows/{flow_id}/runs/{run_number}";
    const std::string step = run + "/steps/{step_name}";
    const std::string task = step + "/tasks/{task_id}";
    router.add("POST", task + "/artifact", [&context](http::Request& r) {
        return without_version_header(add_artifacts(context, r));
    });
    router.add("GET", task + "/artifacts/{artifact_name}",
               [&context](http::Request& r) { return get_latest_artifact(context, r); });
    router.add("GET", task + "/artifacts/{artifact_name}/attempt/{attempt_id}",
               [&context](http::Request& r) { return get_attempt_artifact(context, r); });
    router.add("GET", task + "/artifacts",
               [&context](http::Request& r) { return list_artifacts(context, r, task_scope(r)); });
    router.add("GET", task + "/attempt/{attempt_id}/artifacts", [&context](http::Request& r) {
        return without_version_header(list_attempt_artifacts(context, r));
    });
    router.add("GET", step + "/artifacts",
               [&context](http::Request& r) { return list_artifacts(context, r, step_scope(r)); });
    router.add("GET", run + "/artifacts",
               [&context](http::Request& r) { return list_artifacts(context, r, run_scope(r)); });
}

}  // namespace mf::api
