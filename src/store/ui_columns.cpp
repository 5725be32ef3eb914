#include <array>

#include "store/ui_reader.hpp"

namespace mf {
namespace {

constexpr auto kInteger = UiColumnKind::integer;
constexpr auto kText = UiColumnKind::text;
constexpr auto kJson = UiColumnKind::json;

// {name, kind, nullable, filterable (and orderable), groupable}. Derived columns the
// reference does not let a route filter on are listed as not filterable.
constexpr std::array kFlowColumns = {
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
};

constexpr std::array kRunColumns = {
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"run_number", kInteger, false, true, true},
    UiColumn{"run_id", kText, true, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"user", kText, true, true, true},
    UiColumn{"run", kText, false, true, false},
    UiColumn{"status", kText, false, true, false},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"finished_at", kInteger, true, true, false},
    UiColumn{"duration", kInteger, true, true, false},
    UiColumn{"last_heartbeat_ts", kInteger, true, true, true},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
};

constexpr std::array kStepColumns = {
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"run_number", kInteger, false, true, true},
    UiColumn{"run_id", kText, true, true, true},
    UiColumn{"step_name", kText, false, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"duration", kInteger, true, false, false},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
};

constexpr std::array kTaskColumns = {
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"run_number", kInteger, false, true, true},
    UiColumn{"run_id", kText, true, true, true},
    UiColumn{"step_name", kText, false, true, true},
    UiColumn{"task_id", kInteger, false, true, true},
    UiColumn{"task_name", kText, true, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"status", kText, false, false, false},
    UiColumn{"task_ok", kText, true, false, false},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"started_at", kInteger, true, false, false},
    UiColumn{"finished_at", kInteger, true, true, false},
    UiColumn{"duration", kInteger, true, true, false},
    UiColumn{"attempt_id", kInteger, false, true, false},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
    UiColumn{"last_heartbeat_ts", kInteger, true, true, true},
};

constexpr std::array kMetadataColumns = {
    UiColumn{"id", kInteger, false, true, true},
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"run_number", kInteger, false, true, true},
    UiColumn{"run_id", kText, true, true, true},
    UiColumn{"step_name", kText, false, true, true},
    UiColumn{"task_id", kInteger, false, true, true},
    UiColumn{"task_name", kText, true, true, true},
    UiColumn{"attempt_id", kInteger, true, true, false},
    UiColumn{"field_name", kText, false, true, true},
    UiColumn{"value", kText, false, true, true},
    UiColumn{"type", kText, false, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
};

constexpr std::array kArtifactColumns = {
    UiColumn{"flow_id", kText, false, true, true},
    UiColumn{"run_number", kInteger, false, true, true},
    UiColumn{"run_id", kText, true, true, true},
    UiColumn{"step_name", kText, false, true, true},
    UiColumn{"task_id", kInteger, false, true, true},
    UiColumn{"task_name", kText, true, true, true},
    UiColumn{"name", kText, false, true, true},
    UiColumn{"location", kText, false, true, true},
    UiColumn{"ds_type", kText, false, true, true},
    UiColumn{"sha", kText, true, true, true},
    UiColumn{"type", kText, true, true, true},
    UiColumn{"content_type", kText, true, true, true},
    UiColumn{"user_name", kText, true, true, true},
    UiColumn{"attempt_id", kInteger, false, true, true},
    UiColumn{"ts_epoch", kInteger, false, true, true},
    UiColumn{"tags", kJson, true, true, true},
    UiColumn{"system_tags", kJson, true, true, true},
};

}  // namespace

std::span<const UiColumn> ui_columns(UiResource resource) {
    switch (resource) {
        case UiResource::flows:
            return kFlowColumns;
        case UiResource::runs:
            return kRunColumns;
        case UiResource::steps:
            return kStepColumns;
        case UiResource::tasks:
            return kTaskColumns;
        case UiResource::metadata:
            return kMetadataColumns;
        case UiResource::artifacts:
            return kArtifactColumns;
    }
    return {};
}

const UiColumn* find_ui_column(UiResource resource, std::string_view name) {
    for (const auto& column : ui_columns(resource)) {
        if (column.name == name) return &column;
    }
    return nullptr;
}

}  // namespace mf
