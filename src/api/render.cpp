#include "api/render.hpp"

#include <boost/json.hpp>

namespace mf::api {
namespace {

// The run number field carries the string id when there is one (docs/api.md#ids).
void exposed_run(JsonWriter& out, std::int64_t number, const OptString& name) {
    name ? out.string(*name) : out.number(number);
}

std::string exposed_run_text(std::int64_t number, const OptString& name) {
    return name ? *name : std::to_string(number);
}

// The owner is "verified" when the run's system tags hold "user:<user_name>" (docs/api.md#objects).
bool owner_verified(const Run& run) {
    if (!run.user_name) return false;
    boost::system::error_code ec;
    auto tags = boost::json::parse(run.system_tags, ec);
    if (ec || !tags.is_array()) return false;
    std::string expected = "user:" + *run.user_name;
    for (const auto& tag : tags.as_array()) {
        if (tag.is_string() && tag.as_string() == expected) return true;
    }
    return false;
}

const char* status_name(RunStatus status) {
    switch (status) {
        case RunStatus::running:
            return "running";
        case RunStatus::completed:
            return "completed";
        case RunStatus::failed:
            break;
    }
    return "failed";
}

}  // namespace

void write(JsonWriter& out, const Flow& flow) {
    out.begin_object();
    out.key("flow_id").string(flow.flow_id);
    out.key("user_name").optional_string(flow.user_name);
    out.key("ts_epoch").number(flow.ts_epoch);
    out.key("tags").raw(flow.tags);
    out.key("system_tags").raw(flow.system_tags);
    out.end_object();
}

void write(JsonWriter& out, const Run& run, bool with_user) {
    out.begin_object();
    out.key("flow_id").string(run.flow_id);
    exposed_run(out.key("run_number"), run.run_number, run.run_id);
    out.key("user_name").optional_string(run.user_name);
    out.key("ts_epoch").number(run.ts_epoch);
    out.key("tags").raw(run.tags);
    out.key("system_tags").raw(run.system_tags);
    out.key("last_heartbeat_ts").optional_number(run.last_heartbeat_ts);
    if (run.status) out.key("status").string(status_name(*run.status));
    if (with_user && owner_verified(run)) out.key("user").string(*run.user_name);
    out.end_object();
}

void write(JsonWriter& out, const Step& step) {
    out.begin_object();
    out.key("flow_id").string(step.flow_id);
    // Steps render the run as a string even for numeric runs (docs/api.md#objects).
    out.key("run_number").string(exposed_run_text(step.run_number, step.run_id));
    out.key("step_name").string(step.step_name);
    out.key("user_name").optional_string(step.user_name);
    out.key("ts_epoch").number(step.ts_epoch);
    out.key("tags").raw(step.tags);
    out.key("system_tags").raw(step.system_tags);
    out.end_object();
}

void write(JsonWriter& out, const Task& task) {
    out.begin_object();
    out.key("flow_id").string(task.flow_id);
    exposed_run(out.key("run_number"), task.run_number, task.run_id);
    out.key("step_name").string(task.step_name);
    exposed_run(out.key("task_id"), task.task_id, task.task_name);
    out.key("user_name").optional_string(task.user_name);
    out.key("ts_epoch").number(task.ts_epoch);
    out.key("tags").raw(task.tags);
    out.key("system_tags").raw(task.system_tags);
    out.key("last_heartbeat_ts").optional_number(task.last_heartbeat_ts);
    out.end_object();
}

void write(JsonWriter& out, const Metadata& record) {
    out.begin_object();
    out.key("id").number(record.id);
    out.key("flow_id").string(record.flow_id);
    exposed_run(out.key("run_number"), record.run_number, record.run_id);
    out.key("step_name").string(record.step_name);
    exposed_run(out.key("task_id"), record.task_id, record.task_name);
    out.key("field_name").string(record.field_name);
    out.key("value").string(record.value);
    out.key("type").string(record.type);
    out.key("user_name").optional_string(record.user_name);
    out.key("ts_epoch").number(record.ts_epoch);
    out.key("tags").raw(record.tags);
    out.key("system_tags").raw(record.system_tags);
    out.end_object();
}

void write(JsonWriter& out, const Artifact& artifact) {
    out.begin_object();
    out.key("flow_id").string(artifact.flow_id);
    exposed_run(out.key("run_number"), artifact.run_number, artifact.run_id);
    out.key("step_name").string(artifact.step_name);
    exposed_run(out.key("task_id"), artifact.task_id, artifact.task_name);
    out.key("name").string(artifact.name);
    out.key("location").string(artifact.location);
    out.key("ds_type").string(artifact.ds_type);
    out.key("sha").optional_string(artifact.sha);
    out.key("type").optional_string(artifact.type);
    out.key("content_type").optional_string(artifact.content_type);
    out.key("user_name").optional_string(artifact.user_name);
    out.key("attempt_id").number(artifact.attempt_id);
    out.key("ts_epoch").number(artifact.ts_epoch);
    out.key("tags").raw(artifact.tags);
    out.key("system_tags").raw(artifact.system_tags);
    out.end_object();
}

std::string task_pathspec(const Task& task) {
    return task.flow_id + "/" + exposed_run_text(task.run_number, task.run_id) + "/" +
           task.step_name + "/" + exposed_run_text(task.task_id, task.task_name);
}

}  // namespace mf::api
