#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mf {

// Serialized JSON as posted by the client ("null" when absent). Tags are opaque to the
// service except for tag mutation, so they travel as text and are never re-parsed on reads.
using JsonText = std::string;
inline const JsonText kJsonNull = "null";

using OptString = std::optional<std::string>;

struct Flow {
    std::string flow_id;
    OptString user_name;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

enum class RunStatus { running, completed, failed };

struct Run {
    std::string flow_id;
    std::int64_t run_number = 0;
    OptString run_id;
    OptString user_name;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::optional<std::int64_t> last_heartbeat_ts;
    std::optional<RunStatus> status;  // derived; only filled when a list asks for it
};

// Steps, tasks and artifacts carry their run's tags, never their own (docs/api.md#objects): the
// stores read them from the run in the same query.
struct Step {
    std::string flow_id;
    std::int64_t run_number = 0;
    OptString run_id;
    std::string step_name;
    OptString user_name;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

struct Task {
    std::string flow_id;
    std::int64_t run_number = 0;
    OptString run_id;
    std::string step_name;
    std::int64_t task_id = 0;
    OptString task_name;
    OptString user_name;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::optional<std::int64_t> last_heartbeat_ts;
};

struct Metadata {
    std::int64_t id = 0;
    std::string flow_id;
    std::int64_t run_number = 0;
    OptString run_id;
    std::string step_name;
    std::int64_t task_id = 0;
    OptString task_name;
    std::string field_name;
    std::string value;
    std::string type;
    OptString user_name;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

struct Artifact {
    std::string flow_id;
    std::int64_t run_number = 0;
    OptString run_id;
    std::string step_name;
    std::int64_t task_id = 0;
    OptString task_name;
    std::string name;
    std::string location;
    std::string ds_type;
    OptString sha;
    OptString type;
    OptString content_type;
    OptString user_name;
    std::int32_t attempt_id = 0;
    std::int64_t ts_epoch = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

// What a client posts. Timestamps are the server's, filled in by the API layer.
struct NewFlow {
    std::string flow_id;
    OptString user_name;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::int64_t ts_epoch = 0;
};

struct NewRun {
    std::string flow_id;
    OptString run_id;
    OptString user_name;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::int64_t ts_epoch = 0;
    std::optional<std::int64_t> heartbeat_ts;  // set when the client sends heartbeats
};

struct NewStep {
    OptString user_name;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::int64_t ts_epoch = 0;
};

struct NewTask {
    OptString task_name;
    OptString user_name;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
    std::int64_t ts_epoch = 0;
    std::optional<std::int64_t> heartbeat_ts;
};

struct NewMetadata {
    std::string field_name;
    std::string value;
    std::string type;
    OptString user_name;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

struct NewArtifact {
    std::string name;
    std::string location;
    std::string ds_type;
    OptString sha;
    OptString type;
    OptString content_type;
    OptString user_name;
    std::int32_t attempt_id = 0;
    JsonText tags = kJsonNull;
    JsonText system_tags = kJsonNull;
};

}  // namespace mf
