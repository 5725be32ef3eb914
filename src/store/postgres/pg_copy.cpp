#include "store/postgres/pg_copy.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"

namespace mf::pg {
namespace {

// Parents before children, so that the foreign keys hold at every commit.
struct TableCopy {
    const char* table;
    const char* columns;
    const char* order;  // the primary key, so that a re-run walks the rows alike
    int json_from;      // the tags and system_tags columns: this index and the next
};

constexpr TableCopy kTables[] = {
    {"flows_v3", "flow_id, user_name, ts_epoch, tags, system_tags", "flow_id", 3},
    {"runs_v3",
     "flow_id, run_number, user_name, ts_epoch, tags, system_tags, run_id, last_heartbeat_ts",
     "run_number", 4},
    {"steps_v3", "flow_id, run_number, step_name, user_name, ts_epoch, tags, system_tags, run_id",
     "flow_id, run_number, step_name", 5},
    {"tasks_v3",
     "flow_id, run_number, step_name, task_id, user_name, ts_epoch, tags, system_tags, run_id, "
     "task_name, last_heartbeat_ts",
     "task_id", 6},
    {"metadata_v3",
     "flow_id, run_number, step_name, task_id, id, field_name, value, type, user_name, ts_epoch, "
     "tags, system_tags, run_id, task_name",
     "id", 10},
    {"artifact_v3",
     "flow_id, run_number, step_name, task_id, name, location, ds_type, sha, type, content_type, "
     "user_name, attempt_id, ts_epoch, tags, system_tags, run_id, task_name",
     "flow_id, run_number, step_name, task_id, attempt_id, name", 13},
};

// Rows per transaction on the target.
constexpr int kBatchRows = 1000;

using SqliteHandle = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using SqliteStatement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

SqliteStatement prepare(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("SQLite: ") + sqlite3_errmsg(db));
    return SqliteStatement(statement, sqlite3_finalize);
}

std::int64_t sqlite_count(sqlite3* db, const char* table) {
    auto statement = prepare(db, std::string("SELECT count(*) FROM ") + table);
    sqlite3_step(statement.get());
    return sqlite3_column_int64(statement.get(), 0);
}

std::int64_t copy_table(sqlite3* source, BlockingConnection& target, const TableCopy& copy) {
    auto rows = prepare(source, std::string("SELECT ") + copy.columns + " FROM " + copy.table +
                                    " ORDER BY " + copy.order);
    const int count = sqlite3_column_count(rows.get());
    std::string insert =
        std::string("INSERT INTO ") + copy.table + " (" + copy.columns + ") VALUES (";
    for (int column = 0; column < count; ++column) {
        insert += (column ? ", $" : "$") + std::to_string(column + 1);
        if (column == copy.json_from || column == copy.json_from + 1) insert += "::jsonb";
    }
    insert += ") ON CONFLICT DO NOTHING";

    std::int64_t copied = 0;
    target.execute("BEGIN");
    for (;;) {
        const int step = sqlite3_step(rows.get());
        if (step == SQLITE_DONE) break;
        if (step != SQLITE_ROW)
            throw std::runtime_error(sqlite3_errmsg(sqlite3_db_handle(rows.get())));
        std::vector<std::optional<std::string>> values;
        for (int column = 0; column < count; ++column) {
            const auto* text = sqlite3_column_text(rows.get(), column);
            std::optional<std::string> value;
            if (text) value = reinterpret_cast<const char*>(text);
            // JSON null tags are SQL NULL, as the PostgreSQL store writes them.
            const bool json = column == copy.json_from || column == copy.json_from + 1;
            if (json && value == "null") value.reset();
            values.push_back(std::move(value));
        }
        target.execute(insert, values);
        if (++copied % kBatchRows == 0) {
            target.execute("COMMIT");
            target.execute("BEGIN");
        }
    }
    target.execute("COMMIT");
    return copied;
}

}  // namespace

std::vector<CopiedTable> copy_from_sqlite(const std::string& sqlite_path, const std::string& url) {
    sqlite3* raw = nullptr;
    const int opened = sqlite3_open_v2(sqlite_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    SqliteHandle source(raw, sqlite3_close);
    if (opened != SQLITE_OK)
        throw std::runtime_error("cannot open " + sqlite_path + ": " + sqlite3_errmsg(raw));
    BlockingConnection target(url);
    apply_migrations(target);

    std::vector<CopiedTable> tables;
    for (const auto& copy : kTables) {
        spdlog::info("copying {}", copy.table);
        copy_table(source.get(), target, copy);
        CopiedTable counted{
            copy.table, sqlite_count(source.get(), copy.table),
            target.execute(std::string("SELECT count(*) FROM ") + copy.table).int64(0, 0)};
        if (counted.target_rows < counted.source_rows) {
            throw std::runtime_error(std::string(copy.table) + ": " +
                                     std::to_string(counted.target_rows) + " rows copied of " +
                                     std::to_string(counted.source_rows));
        }
        tables.push_back(counted);
    }
    // The next ids the sequences give must be past every copied one.
    const char* sequences[][2] = {{"runs_v3_run_number_seq", "SELECT max(run_number) FROM runs_v3"},
                                  {"tasks_v3_task_id_seq", "SELECT max(task_id) FROM tasks_v3"},
                                  {"metadata_v3_id_seq", "SELECT max(id) FROM metadata_v3"}};
    for (const auto& [sequence, highest] : sequences) {
        target.execute(std::string("SELECT setval('") + sequence + "', GREATEST((" + highest +
                       "), (SELECT last_value FROM " + sequence + "), 1))");
    }
    // Statistics for what was loaded, so that the first requests are planned on them rather
    // than on PostgreSQL's guesses for tables it has never analyzed; autovacuum would get to
    // it only later.
    for (const auto& copy : kTables) target.execute(std::string("ANALYZE ") + copy.table);
    return tables;
}

}  // namespace mf::pg
