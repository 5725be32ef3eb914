#include "store/row_change.hpp"

#include <boost/json.hpp>

#include "model/json_integer.hpp"

namespace mf {
namespace {

namespace json = boost::json;

std::optional<RowChange::Table> table_named(std::string_view name) {
    if (name == "flows_v3") return RowChange::Table::flows;
    if (name == "runs_v3") return RowChange::Table::runs;
    if (name == "steps_v3") return RowChange::Table::steps;
    if (name == "tasks_v3") return RowChange::Table::tasks;
    if (name == "metadata_v3") return RowChange::Table::metadata;
    if (name == "artifact_v3") return RowChange::Table::artifacts;
    return std::nullopt;
}

std::optional<RowChange::Operation> operation_named(std::string_view name) {
    if (name == "INSERT") return RowChange::Operation::insert;
    if (name == "UPDATE") return RowChange::Operation::update;
    if (name == "DELETE") return RowChange::Operation::remove;
    return std::nullopt;
}

std::optional<std::string> text_of(const json::object& data, std::string_view key) {
    const auto* value = data.if_contains(key);
    if (!value || value->is_null()) return std::nullopt;
    if (value->is_string()) return std::string(value->as_string());
    return json::serialize(*value);
}

std::optional<std::int64_t> number_of(const json::object& data, std::string_view key) {
    const auto* value = data.if_contains(key);
    if (!value) return std::nullopt;
    return json_integer(*value);
}

}  // namespace

std::optional<RowChange> parse_change_payload(std::string_view payload) {
    boost::system::error_code error;
    auto parsed = json::parse(payload, error);
    if (error || !parsed.is_object()) return std::nullopt;
    const auto& root = parsed.as_object();
    const auto* table = root.if_contains("table");
    const auto* operation = root.if_contains("operation");
    const auto* data = root.if_contains("data");
    if (!table || !table->is_string() || !operation || !operation->is_string() || !data ||
        !data->is_object())
        return std::nullopt;
    auto table_kind = table_named(table->as_string());
    auto operation_kind = operation_named(operation->as_string());
    if (!table_kind || !operation_kind) return std::nullopt;
    const auto& row = data->as_object();
    RowChange change;
    change.table = *table_kind;
    change.operation = *operation_kind;
    change.flow_id = text_of(row, "flow_id").value_or("");
    change.run_number = number_of(row, "run_number");
    change.step_name = text_of(row, "step_name");
    change.task_id = number_of(row, "task_id");
    change.attempt_id = number_of(row, "attempt_id");
    change.name = text_of(row, "name");
    change.field_name = text_of(row, "field_name");
    change.value = text_of(row, "value");
    // Tags arrive as the column's JSON: an array of strings, or a JSON text of one.
    if (const auto* tags = row.if_contains("tags")) {
        json::value list = *tags;
        if (list.is_string()) list = json::parse(list.as_string(), error);
        if (!error && list.is_array()) {
            for (const auto& tag : list.as_array()) {
                if (tag.is_string()) change.tags.emplace_back(tag.as_string());
            }
        }
    }
    return change;
}

}  // namespace mf
