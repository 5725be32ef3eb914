#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mf {

// A row some writer committed, as the change-notification triggers describe it
// (README.md#postgresql): its table, the operation and the row's key columns. The web UI's
// realtime updates start from these.
struct RowChange {
    enum class Table { flows, runs, steps, tasks, metadata, artifacts };
    enum class Operation { insert, update, remove };

    Table table = Table::flows;
    Operation operation = Operation::insert;
    std::string flow_id;
    std::optional<std::int64_t> run_number;
    std::optional<std::string> step_name;
    std::optional<std::int64_t> task_id;
    std::optional<std::int64_t> attempt_id;  // artifacts
    std::optional<std::string> name;         // artifacts
    std::optional<std::string> field_name;   // metadata
    std::optional<std::string> value;        // metadata
    std::vector<std::string> tags;           // metadata
};

// Called with each committed change, on any thread.
using ChangeSink = std::function<void(RowChange)>;

// A notify payload, `{"table", "schema", "operation", "data": {key columns}}`, as a change;
// nullopt for a payload of another shape or table.
std::optional<RowChange> parse_change_payload(std::string_view payload);

}  // namespace mf
