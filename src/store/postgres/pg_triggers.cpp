#include "store/postgres/pg_triggers.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>
#include <vector>

namespace mf::pg {
namespace {

// The reference's suffix, shared with the UI backend: a trigger carrying it is current.
constexpr std::string_view kTriggerPrefix = "notify_ui_05092024_";
// Serialises trigger creation across processes starting together (an arbitrary constant,
// apart from the migrations' lock).
constexpr std::string_view kTriggerLock = "5092024";

struct NotifyTrigger {
    std::string_view table;
    std::vector<std::string_view> key_columns;
    std::string_view operations;
};

// The key columns each table's notification carries.
const std::vector<NotifyTrigger>& notify_triggers() {
    static const std::vector<NotifyTrigger> all = {
        {"flows_v3", {"flow_id"}, "INSERT OR UPDATE OR DELETE"},
        {"runs_v3", {"flow_id", "run_number", "last_heartbeat_ts"}, "INSERT OR UPDATE OR DELETE"},
        {"steps_v3", {"flow_id", "run_number", "step_name"}, "INSERT OR UPDATE OR DELETE"},
        {"tasks_v3",
         {"flow_id", "run_number", "step_name", "task_id"},
         "INSERT OR UPDATE OR DELETE"},
        {"metadata_v3",
         {"flow_id", "run_number", "step_name", "task_id", "field_name", "value", "tags"},
         "INSERT"},
        {"artifact_v3",
         {"flow_id", "run_number", "step_name", "task_id", "attempt_id", "name"},
         "INSERT"},
    };
    return all;
}

std::string quoted_identifier(BlockingConnection& db, std::string_view name) {
    std::unique_ptr<char, void (*)(void*)> quoted(
        PQescapeIdentifier(db.native(), name.data(), name.size()), PQfreemem);
    if (!quoted) throw std::runtime_error("cannot quote the identifier " + std::string(name));
    return quoted.get();
}

// Triggers on the table, by name.
std::vector<std::string> triggers_on(BlockingConnection& db, const std::string& schema,
                                     std::string_view table) {
    auto rows = db.execute(
        "SELECT DISTINCT trigger_name FROM information_schema.triggers "
        "WHERE event_object_schema = $1 AND event_object_table = $2 AND trigger_name LIKE "
        "'notify\\_ui%'",
        {schema, std::string(table)});
    std::vector<std::string> names;
    for (int row = 0; row < rows.size(); ++row) names.push_back(rows.text(row, 0));
    return names;
}

void create(BlockingConnection& db, const std::string& schema, const NotifyTrigger& trigger) {
    const std::string name = std::string(kTriggerPrefix) + std::string(trigger.table);
    const std::string table =
        quoted_identifier(db, schema) + "." + quoted_identifier(db, trigger.table);
    const std::string function = quoted_identifier(db, schema) + "." + quoted_identifier(db, name);
    std::string data;
    for (auto column : trigger.key_columns) {
        if (!data.empty()) data += ", ";
        data += "'" + std::string(column) + "', rec." + quoted_identifier(db, column);
    }
    db.execute("CREATE OR REPLACE FUNCTION " + function +
               "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
               "DECLARE rec RECORD;\n"
               "BEGIN\n"
               "  CASE TG_OP\n"
               "  WHEN 'INSERT', 'UPDATE' THEN rec := NEW;\n"
               "  WHEN 'DELETE' THEN rec := OLD;\n"
               "  ELSE RAISE EXCEPTION 'Unknown TG_OP: \"%\"', TG_OP;\n"
               "  END CASE;\n"
               "  PERFORM pg_notify('notify', json_build_object('table', TG_TABLE_NAME, "
               "'schema', TG_TABLE_SCHEMA, 'operation', TG_OP, 'data', json_build_object(" +
               data +
               "))::text);\n"
               "  RETURN rec;\n"
               "END;\n$$");
    db.execute("CREATE TRIGGER " + quoted_identifier(db, name) + " AFTER " +
               std::string(trigger.operations) + " ON " + table +
               " FOR EACH ROW EXECUTE PROCEDURE " + function + "()");
    // Also under logical replication, where ordinary triggers stay silent.
    db.execute("ALTER TABLE " + table + " ENABLE ALWAYS TRIGGER " + quoted_identifier(db, name));
    spdlog::info("created the notify trigger {} on {}.{}", name, schema, trigger.table);
}

void drop(BlockingConnection& db, const std::string& schema, std::string_view table,
          const std::string& name) {
    const std::string quoted_schema = quoted_identifier(db, schema);
    db.execute("DROP TRIGGER IF EXISTS " + quoted_identifier(db, name) + " ON " + quoted_schema +
               "." + quoted_identifier(db, table));
    db.execute("DROP FUNCTION IF EXISTS " + quoted_schema + "." + quoted_identifier(db, name) +
               "()");
    spdlog::info("dropped the old notify trigger {} on {}.{}", name, schema, table);
}

}  // namespace

void create_notify_triggers(BlockingConnection& db, const std::string& schema) {
    db.execute("BEGIN");
    try {
        db.execute("SELECT pg_advisory_xact_lock(" + std::string(kTriggerLock) + ")");
        for (const auto& trigger : notify_triggers()) {
            const std::string current = std::string(kTriggerPrefix) + std::string(trigger.table);
            bool present = false;
            for (const auto& name : triggers_on(db, schema, trigger.table)) {
                if (name == current) {
                    present = true;
                } else if (name.find("05092024") == std::string::npos) {
                    drop(db, schema, trigger.table, name);
                }
            }
            if (!present) create(db, schema, trigger);
        }
        db.execute("COMMIT");
    } catch (...) {
        db.execute("ROLLBACK");
        throw;
    }
}

}  // namespace mf::pg
