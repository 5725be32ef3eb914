#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/result.hpp"
#include "model/text.hpp"
#include "store/sql_filters.hpp"
#include "store/ui_reader.hpp"

// The SQL of the web UI's reads, for both stores: one text with the dialect's spellings where
// SQLite and PostgreSQL differ. `Query` is the store's query builder (sql() appends text,
// value() a bound parameter). Column names come from the fixed catalog of ui_columns();
// every value a client sends is bound, never spliced.
//
// A list is three layers: the resource's rows with their derived columns (alias x), then
// the filters on those columns, then order and page, or the page of groups.
namespace mf::sql {

enum class Dialect { sqlite, postgres };

template <Dialect D, class Query>
class UiSql {
public:
    static constexpr bool kPostgres = D == Dialect::postgres;

    explicit UiSql(Query& query) : q_(query) {}

    Result<Ok> list(const UiListQuery& query) {
        if (query.keys) return keyed_list(query);
        if (!query.group.empty() && !query.distinct_column) return grouped_list(query);
        q_.sql("SELECT ");
        if (query.distinct_column) {
            q_.sql("DISTINCT x.").sql(quoted(*query.distinct_column));
        } else {
            output_columns("x", query.resource);
        }
        q_.sql(" FROM (");
        if (runs_cut_first(query)) {
            if (auto ok = runs(query.scope, query.clock, &query); !ok) return ok;
            q_.sql(") x");
            order_by(query, "x");
            return Ok{};
        }
        if (tasks_cut_first(query)) {
            if (auto ok = tasks(query.scope, query.clock, &query); !ok) return ok;
            q_.sql(") x WHERE x.mf_position >= ");
            integer(query.offset);
            q_.sql(" AND x.mf_position < ");
            integer(query.offset + query.limit);
            order_by(query, "x");
            return Ok{};
        }
        if (auto ok = rows(query); !ok) return ok;
        q_.sql(") x WHERE 1 = 1");
        if (auto ok = conditions(query, "x"); !ok) return ok;
        if (query.distinct_column) {
            q_.sql(" ORDER BY x.").sql(quoted(*query.distinct_column));
        } else {
            order_by(query, "x");
        }
        page(query.limit, query.offset);
        return Ok{};
    }

    // Every element of every run's tags and system tags, once.
    void run_tags() {
        if constexpr (kPostgres) {
            q_.sql(
                "SELECT DISTINCT jsonb_array_elements_text(tag_list) FROM (SELECT tags AS "
                "tag_list FROM runs_v3 WHERE jsonb_typeof(tags) = 'array' UNION ALL SELECT "
                "system_tags FROM runs_v3 WHERE jsonb_typeof(system_tags) = 'array') l");
        } else {
            q_.sql(
                "SELECT j.value FROM runs_v3 r, json_each(CASE WHEN json_valid(r.tags) THEN "
                "r.tags ELSE '[]' END) j WHERE j.type = 'text' UNION SELECT j.value FROM runs_v3 "
                "r, json_each(CASE WHEN json_valid(r.system_tags) THEN r.system_tags ELSE '[]' "
                "END) j WHERE j.type = 'text'");
        }
    }

private:
    // --- Dialect ---

    static std::string quoted(std::string_view column) { return "\"" + std::string(column) + "\""; }

    void integer(std::int64_t value) { q_.sql("CAST(").value(value).sql(" AS BIGINT)"); }

    // The largest of the values, ignoring nulls; null when all are.
    static std::string greatest(std::initializer_list<std::string_view> values) {
        std::string text;
        if constexpr (kPostgres) {
            text = "GREATEST(";
            for (auto value : values) text += std::string(value) + ", ";
            text.resize(text.size() - 2);
            return text + ")";
        } else {
            // SQLite's max() is null when any argument is: each argument falls back on the
            // others in turn.
            const std::vector<std::string_view> all(values);
            text = "max(";
            for (std::size_t i = 0; i < all.size(); ++i) {
                text += "coalesce(";
                for (std::size_t j = 0; j < all.size(); ++j) {
                    text += std::string(all[(i + j) % all.size()]);
                    text += j + 1 < all.size() ? ", " : ")";
                }
                text += i + 1 < all.size() ? ", " : ")";
            }
            return text;
        }
    }

    // A text column holding a whole number, as an integer; null otherwise.
    void whole_number(std::string_view column) {
        if constexpr (kPostgres) {
            // translate() rather than a regular expression: a timeline page parses thousands.
            q_.sql("(CASE WHEN octet_length(").sql(column).sql(") BETWEEN 1 AND 9 AND translate(");
            q_.sql(column).sql(", '0123456789', '') = '' THEN CAST(").sql(column);
            q_.sql(" AS INTEGER) END)");
        } else {
            q_.sql("(CASE WHEN ").sql(column).sql(" GLOB '[0-9]*' AND ").sql(column);
            q_.sql(" NOT GLOB '*[^0-9]*' THEN CAST(").sql(column).sql(" AS INTEGER) END)");
        }
    }

    // The number of the first "attempt_id:N" in the text of a tag list; null without one.
    // PostgreSQL reads up to 9 digits of the first one followed by a digit, SQLite all the
    // digits of the first one: each store derives every attempt with the same one.
    void tagged_attempt(std::string_view tags) {
        if constexpr (kPostgres) {
            // The client's form, a first tag "attempt_id:N", without the regular expression
            // (several microseconds a record) that any other form falls back on.
            const std::string first = "(" + std::string(tags) + " ->> 0)";
            q_.sql("(CASE WHEN left(").sql(first).sql(", 11) = 'attempt_id:' AND octet_length(");
            q_.sql(first).sql(") BETWEEN 12 AND 20 AND translate(substr(").sql(first);
            q_.sql(", 12), '0123456789', '') = '' THEN CAST(substr(").sql(first).sql(", 12) AS ");
            q_.sql("INTEGER) ELSE CAST(substring(CAST(").sql(tags);
            q_.sql(" AS TEXT) from 'attempt_id:(\\d{1,9})') AS INTEGER) END)");
        } else {
            const std::string digits = "substr(" + std::string(tags) + ", instr(" +
                                       std::string(tags) + ", 'attempt_id:') + 11)";
            q_.sql("(CASE WHEN instr(").sql(tags).sql(", 'attempt_id:') > 0 AND ").sql(digits);
            q_.sql(" GLOB '[0-9]*' THEN CAST(").sql(digits).sql(" AS INTEGER) END)");
        }
    }

    // A text column's truth as PostgreSQL reads booleans: 1, 0, or null.
    void truth(std::string_view column) {
        q_.sql("(CASE WHEN lower(").sql(column).sql(") IN ('true', 't', '1', 'yes', 'y', 'on') ");
        q_.sql("THEN 1 WHEN lower(").sql(column);
        q_.sql(") IN ('false', 'f', '0', 'no', 'n', 'off') THEN 0 END)");
    }

    // The run's user_name when its system tags hold "user:<user_name>".
    void verified_user() {
        if constexpr (kPostgres) {
            q_.sql("(CASE WHEN r.system_tags ? ('user:' || r.user_name) THEN r.user_name END)");
        } else {
            q_.sql(
                "(CASE WHEN r.user_name IS NOT NULL AND json_valid(r.system_tags) AND EXISTS "
                "(SELECT 1 FROM json_each(r.system_tags) WHERE type = 'text' AND value = "
                "'user:' || r.user_name) THEN r.user_name END)");
        }
    }

    std::string_view ilike() const { return kPostgres ? " ILIKE " : " LIKE "; }
    std::string_view null_safe_equal() const {
        return kPostgres ? " IS NOT DISTINCT FROM " : " IS ";
    }

    // --- Scope ---

    // The run_number of the scope's run.
    void run_number(const UiScope& scope) {
        const ObjectKey& run = *scope.run;
        if (run.is_number()) {
            integer(run.as_number());
            return;
        }
        q_.sql("(SELECT r0.run_number FROM runs_v3 r0 WHERE r0.flow_id = ").value(*scope.flow_id);
        q_.sql(" AND r0.run_id = ").value(run.as_name()).sql(")");
    }

    void task_id(const UiScope& scope) {
        const ObjectKey& task = *scope.task;
        if (task.is_number()) {
            integer(task.as_number());
            return;
        }
        q_.sql("(SELECT t0.task_id FROM tasks_v3 t0 WHERE t0.flow_id = ").value(*scope.flow_id);
        q_.sql(" AND t0.run_number = ");
        run_number(scope);
        q_.sql(" AND t0.step_name = ").value(*scope.step_name);
        q_.sql(" AND t0.task_name = ").value(task.as_name()).sql(")");
    }

    // " AND <alias> is in the scope", for a table below runs.
    void scope_below_run(const UiScope& scope, std::string_view alias) {
        const std::string a(alias);
        if (scope.flow_id) q_.sql(" AND " + a + ".flow_id = ").value(*scope.flow_id);
        if (scope.run) {
            q_.sql(" AND " + a + ".run_number = ");
            run_number(scope);
        }
        if (scope.step_name) q_.sql(" AND " + a + ".step_name = ").value(*scope.step_name);
        if (scope.task) {
            q_.sql(" AND " + a + ".task_id = ");
            task_id(scope);
        }
    }

    // --- Rows with their derived columns ---

    Result<Ok> rows(const UiListQuery& query) {
        switch (query.resource) {
            case UiResource::flows:
                flows(query.scope);
                break;
            case UiResource::runs:
                return runs(query.scope, query.clock,
                            runs_cut_first(query) && !query.group.empty() ? &query : nullptr);
            case UiResource::steps:
                steps(query.scope, query.clock);
                break;
            case UiResource::tasks:
                return tasks(query.scope, query.clock, nullptr);
            case UiResource::metadata:
                metadata(query.scope);
                break;
            case UiResource::artifacts:
                artifacts(query.scope);
                break;
        }
        return Ok{};
    }

    // The columns of runs_v3 itself, as the runs list names them.
    static bool stored_run_column(std::string_view name) {
        for (std::string_view column : {"flow_id", "run_number", "run_id", "user_name", "ts_epoch",
                                        "last_heartbeat_ts", "tags", "system_tags"}) {
            if (column == name) return true;
        }
        return false;
    }

    // A page of runs (or each group's first runs) filtered, ordered and grouped on runs_v3's
    // own columns is cut from runs_v3 before any status is derived: the home page then
    // derives thirty statuses, not every run's.
    static bool runs_cut_first(const UiListQuery& query) {
        if (query.resource != UiResource::runs || query.distinct_column) return false;
        if (query.group.empty() && query.limit <= 0) return false;
        for (const auto& filter : query.filters) {
            if (!stored_run_column(filter.field)) return false;
        }
        for (const auto& order : query.order) {
            if (find_ui_column(query.resource, order.column) && !stored_run_column(order.column))
                return false;
        }
        for (const auto& name : query.group) {
            if (find_ui_column(query.resource, name) && !stored_run_column(name)) return false;
        }
        return true;
    }

    void flows(const UiScope& scope) {
        q_.sql(
            "SELECT f.flow_id AS \"flow_id\", f.user_name AS \"user_name\", f.ts_epoch AS "
            "\"ts_epoch\", f.tags AS \"tags\", f.system_tags AS \"system_tags\" FROM flows_v3 f "
            "WHERE 1 = 1");
        if (scope.flow_id) q_.sql(" AND f.flow_id = ").value(*scope.flow_id);
    }

    // The newest attempt_ok record of the run's end step decides (its time o, its value v),
    // unless a newer attempt of the end step follows a false one (a retry: running). Without
    // one, a recent heartbeat means running; anything else failed.
    // With `cut`, only the runs that list shows: its filters, order and page (or each
    // group's first runs) apply to runs_v3 first (runs_cut_first says when they can).
    // With `keys`, only those runs.
    Result<Ok> runs(const UiScope& scope, const UiStatusClock& clock, const UiListQuery* cut,
                    const std::vector<UiKey>* keys = nullptr) {
        constexpr std::string_view retrying = "(r.ok_value = 0 AND r.retry_ts > r.ok_ts)";
        q_.sql(
            "SELECT r.flow_id AS \"flow_id\", r.run_number AS \"run_number\", r.run_id AS "
            "\"run_id\", r.user_name AS \"user_name\", ");
        verified_user();
        q_.sql(
            " AS \"user\", COALESCE(r.run_id, CAST(r.run_number AS TEXT)) AS \"run\", (CASE WHEN ");
        q_.sql(retrying).sql(" THEN 'running' WHEN r.ok_value = 1 THEN 'completed'");
        q_.sql(" WHEN r.ok_value = 0 THEN 'failed' WHEN ");
        fresh_run_heartbeat(clock);
        q_.sql(" THEN 'running' ELSE 'failed' END) AS \"status\", r.ts_epoch AS \"ts_epoch\", ");
        q_.sql("(CASE WHEN ").sql(retrying).sql(" THEN NULL WHEN r.ok_ts IS NOT NULL THEN r.ok_ts");
        q_.sql(" WHEN ");
        fresh_run_heartbeat(clock);
        q_.sql(" THEN NULL ELSE r.last_heartbeat_ts * 1000 END) AS \"finished_at\", ");
        q_.sql("(CASE WHEN ").sql(retrying);
        q_.sql(" AND r.last_heartbeat_ts IS NOT NULL THEN r.last_heartbeat_ts * 1000 - r.ts_epoch");
        q_.sql(" WHEN r.ok_ts IS NOT NULL THEN r.ok_ts - r.ts_epoch");
        q_.sql(
            " WHEN r.last_heartbeat_ts IS NOT NULL THEN r.last_heartbeat_ts * 1000 - r.ts_epoch");
        q_.sql(" WHEN ");
        integer(clock.now_ms);
        q_.sql(" - r.ts_epoch > ");
        integer(clock.old_run_failure_cutoff_ms);
        q_.sql(" THEN NULL ELSE ");
        integer(clock.now_ms);
        q_.sql(
            " - r.ts_epoch END) AS \"duration\", r.last_heartbeat_ts AS \"last_heartbeat_ts\", ");
        q_.sql("r.tags AS \"tags\", r.system_tags AS \"system_tags\" FROM (SELECT r.*, ");
        q_.sql("(SELECT m.ts_epoch");
        end_step_records("attempt_ok");
        q_.sql(" ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1) AS ok_ts, (SELECT ");
        truth("m.value");
        end_step_records("attempt_ok");
        q_.sql(
            " ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1) AS ok_value, (SELECT max(m.ts_epoch)");
        end_step_records("attempt");
        q_.sql(") AS retry_ts FROM ");
        const bool grouped = cut && !cut->group.empty();
        if (grouped) {
            q_.sql("(SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY ");
            bool first = true;
            for (const auto& name : cut->group) {
                const UiColumn* column = find_ui_column(UiResource::runs, name);
                if (!column) continue;
                if (!first) q_.sql(", ");
                first = false;
                q_.sql("r.").sql(quoted(column->name));
            }
            q_.sql(" ORDER BY ");
            order_list(*cut, "r");
            q_.sql(") AS mf_rank FROM runs_v3 r WHERE 1 = 1");
        } else {
            q_.sql(cut ? "(SELECT * FROM runs_v3 r WHERE 1 = 1" : "runs_v3 r WHERE 1 = 1");
        }
        if (scope.flow_id) q_.sql(" AND r.flow_id = ").value(*scope.flow_id);
        if (scope.run) {
            if (scope.run->is_number()) {
                q_.sql(" AND r.run_number = ");
                integer(scope.run->as_number());
            } else {
                q_.sql(" AND r.run_id = ").value(scope.run->as_name());
            }
        }
        if (keys) {
            q_.sql(" AND (r.flow_id, r.run_number) IN (SELECT k.flow_id, k.run_number FROM (");
            key_rows(*keys);
            q_.sql(") k)");
        }
        if (cut) {
            if (auto ok = conditions(*cut, "r"); !ok) return ok;
            if (grouped) {
                q_.sql(") r WHERE r.mf_rank <= ");
                integer(cut->group_limit);
            } else {
                order_by(*cut, "r");
                page(cut->limit, cut->offset);
            }
            q_.sql(") r");
        }
        q_.sql(") r");
        return Ok{};
    }

    // The end step's records of one kind. SQLite, without statistics, would rather walk the
    // run's records in time order (the index that saves it the sort): every record of the run,
    // for each run read, however few the end step has. The step's index finds those few.
    void end_step_records(std::string_view field_name) {
        q_.sql(" FROM metadata_v3 m");
        if constexpr (!kPostgres) q_.sql(" INDEXED BY metadata_v3_idx_task_ts_id_desc");
        q_.sql(
            " WHERE m.flow_id = r.flow_id AND m.run_number = r.run_number AND m.step_name = 'end' "
            "AND m.field_name = '");
        q_.sql(field_name).sql("'");
    }

    void fresh_run_heartbeat(const UiStatusClock& clock) {
        q_.sql("(r.last_heartbeat_ts IS NOT NULL AND abs(");
        integer(clock.now_ms / 1000);
        q_.sql(" - r.last_heartbeat_ts) <= ");
        integer(clock.run_inactive_cutoff_s);
        q_.sql(")");
    }

    // A step lasts from its start to the last sign of its tasks: a _task_ok artifact, an
    // attempt's end, a heartbeat; without any, until now, for a day at most.
    void steps(const UiScope& scope, const UiStatusClock& clock) {
        q_.sql(
            "SELECT s.flow_id AS \"flow_id\", s.run_number AS \"run_number\", s.run_id AS "
            "\"run_id\", s.step_name AS \"step_name\", s.user_name AS \"user_name\", s.ts_epoch "
            "AS \"ts_epoch\", (CASE WHEN s.last_sign IS NOT NULL THEN s.last_sign - s.ts_epoch "
            "WHEN ");
        integer(clock.now_ms);
        q_.sql(" - s.ts_epoch > ");
        integer(clock.old_run_failure_cutoff_ms);
        q_.sql(" THEN NULL ELSE ");
        integer(clock.now_ms);
        q_.sql(
            " - s.ts_epoch END) AS \"duration\", r.tags AS \"tags\", r.system_tags AS "
            "\"system_tags\" FROM (SELECT s1.*, ");
        q_.sql(greatest({"s1.ok_ts", "s1.done_ts", "s1.heartbeat_ms"}));
        q_.sql(
            " AS last_sign FROM (SELECT s.*, (SELECT max(a.ts_epoch) FROM artifact_v3 a WHERE "
            "a.flow_id = s.flow_id AND a.run_number = s.run_number AND a.step_name = s.step_name "
            "AND a.name = '_task_ok') AS ok_ts, (SELECT max(m.ts_epoch) FROM metadata_v3 m WHERE "
            "m.flow_id = s.flow_id AND m.run_number = s.run_number AND m.step_name = s.step_name "
            "AND m.field_name IN ('attempt_ok', 'attempt-done')) AS done_ts, (SELECT "
            "max(t.last_heartbeat_ts) * 1000 FROM tasks_v3 t WHERE t.flow_id = s.flow_id AND "
            "t.run_number = s.run_number AND t.step_name = s.step_name) AS heartbeat_ms FROM "
            "steps_v3 s WHERE 1 = 1");
        scope_below_run(scope, "s");
        q_.sql(") s1) s JOIN runs_v3 r ON r.flow_id = s.flow_id AND r.run_number = s.run_number");
    }

    // The stored columns of a task a list may filter on before any attempt is derived.
    static bool stored_task_column(std::string_view name) {
        for (std::string_view column :
             {"flow_id", "run_number", "run_id", "step_name", "task_id", "task_name", "user_name",
              "ts_epoch", "last_heartbeat_ts"}) {
            if (column == name) return true;
        }
        return false;
    }

    // The stored columns of a task that are never null: an order on them alone compares tasks
    // with plain < and >.
    static bool non_null_task_column(std::string_view name) {
        for (std::string_view column :
             {"flow_id", "run_number", "step_name", "task_id", "ts_epoch"}) {
            if (column == name) return true;
        }
        return false;
    }

    // A page of tasks (a run's timeline) filtered and ordered on tasks_v3's own columns is cut
    // from tasks_v3 before any attempt is derived: the page then derives a thousand tasks'
    // attempts, not the whole run's.
    static bool tasks_cut_first(const UiListQuery& query) {
        if (query.resource != UiResource::tasks || query.distinct_column) return false;
        if (!query.group.empty() || query.limit <= 0 || !query.tag_filters.empty()) return false;
        for (const auto& filter : query.filters) {
            if (!stored_task_column(filter.field)) return false;
        }
        for (const auto& order : query.order) {
            if (find_ui_column(query.resource, order.column) && !non_null_task_column(order.column))
                return false;
        }
        return true;
    }

    // A task's row per attempt. Its attempts come from the metadata records "attempt" (its
    // start), "attempt-done" and "attempt_ok" (its end, and whether it succeeded) and the
    // _task_ok artifact (its end, and where its outcome is stored); a task without any has one
    // attempt 0. The start of the next attempt ends an attempt too.
    // With `cut`, only the tasks of that list's page get their attempts derived (see
    // tasks_cut_first); each row then carries its place in the whole list, mf_position.
    Result<Ok> tasks(const UiScope& scope, const UiStatusClock& clock, const UiListQuery* cut) {
        q_.sql("WITH ");
        if (cut) {
            if (auto ok = task_window(*cut); !ok) return ok;
            // PostgreSQL reads the page's attempt records and _task_ok artifacts by one range
            // scan per step of its tasks (their ids within the step), not a descent per task:
            // a page's tasks of a step are about consecutive in id, as both their ids and
            // their times grow as they are created.
            if constexpr (kPostgres) step_ranges("mf_window", "mf_ranges");
            q_.sql(", mf_once AS (");
            single_attempts("mf_window", kPostgres ? "mf_ranges" : "");
            // The window's tasks that may have attempts other than 0 (a record of one), or
            // whose attempt_ok record names no attempt: their attempts are derived in full.
            q_.sql(
                "), mf_several AS (SELECT p.* FROM mf_window p WHERE p.task_id IN (SELECT "
                "task_id FROM mf_retried) OR p.task_id IN (SELECT task_id FROM mf_once WHERE "
                "mf_unnamed_attempt = 1)), att AS (");
            // Those few are looked up by their keys: a range between two of them far apart
            // would read and group the attempts of every task between.
            attempts(scope, "mf_several");
            q_.sql(
                " UNION ALL SELECT task_id, attempt_id, started_at, attempt_finished_at, "
                "task_ok_finished_at, task_ok_location, attempt_ok, next_started_at, "
                "mf_rows_before, mf_attempts, mf_rows_before FROM mf_once WHERE task_id NOT IN "
                "(SELECT task_id FROM mf_several)");
        } else {
            q_.sql("att AS (");
            attempts(scope, {});
        }
        q_.sql(") ");
        task_rows(scope, clock, cut != nullptr);
        return Ok{};
    }

    // ", name AS (...)": per step of the tasks of `of`, the lowest and highest task_id.
    void step_ranges(std::string_view of, std::string_view name) {
        q_.sql(", ").sql(name).sql(
            " AS (SELECT flow_id, run_number, step_name, min(task_id) AS low, max(task_id) AS "
            "high FROM ");
        q_.sql(of).sql(" GROUP BY flow_id, run_number, step_name)");
    }

    // What a page's window needs of a task: its key, and every column task_order may name.
    static constexpr std::string_view kTaskKey =
        "t.flow_id, t.run_number, t.step_name, t.task_id, t.ts_epoch";

    // The tasks (mf_window) whose rows hold the page's places. A task has a row per attempt, so
    // a place in the list is the task's place plus the extra rows (attempts beyond one) of the
    // tasks before it. Only a task with a record of an attempt other than 0 (mf_retried, found
    // by partial indexes) can have extra rows. Its extra rows are counted from those records
    // alone, without deriving its attempts: they are its attempts other than 0, less one when
    // it has no record of attempt 0 (a probe of its attempt-0 records, for the few whose later
    // records do not tell). The window then starts that many extra rows before the page, at
    // most, and keeps the tasks whose rows may reach into the page: those starting in it, or
    // fewer rows before it than the most extra rows of one task.
    Result<Ok> task_window(const UiListQuery& query) {
        const UiScope& scope = query.scope;
        q_.sql(
            "mf_later AS (SELECT s.task_id, count(DISTINCT CASE WHEN s.attempt_id <> 0 THEN "
            "s.attempt_id END) AS mf_later_attempts, max(CASE WHEN s.attempt_id = 0 THEN 1 ELSE "
            "0 END) AS mf_zero FROM (");
        bool first = true;
        for (const auto& records : index_sized(later_attempt_record("m"))) {
            q_.sql(first ? "" : " UNION ALL ");
            first = false;
            q_.sql("SELECT m.task_id, ");
            record_attempt("m");
            q_.sql(" AS attempt_id FROM metadata_v3 m WHERE 1 = 1");
            scope_below_run(scope, "m");
            q_.sql(" AND ").sql(records);
        }
        q_.sql(" UNION ALL SELECT a.task_id, a.attempt_id FROM artifact_v3 a WHERE 1 = 1");
        scope_below_run(scope, "a");
        q_.sql(" AND a.name = '_task_ok' AND a.attempt_id <> 0) s GROUP BY s.task_id), ");
        q_.sql("mf_retried AS (SELECT ").sql(kTaskKey).sql(", l.mf_later_attempts, l.mf_zero");
        keyed_join("mf_later l", "tasks_v3", "t", "t.task_id = l.task_id");
        scope_below_run(scope, "t");
        if (auto ok = conditions(query, "t"); !ok) return ok;
        q_.sql(
            "), mf_extra AS (SELECT p.*, p.mf_later_attempts - 1 + (CASE WHEN p.mf_zero = 1 OR ");
        attempt_zero_recorded();
        q_.sql(
            " THEN 1 ELSE 0 END) AS mf_extra FROM mf_retried p WHERE p.mf_later_attempts > 0), ");
        q_.sql("mf_skip AS (SELECT CASE WHEN e.extra < ");
        integer(query.offset);
        q_.sql(" THEN ");
        integer(query.offset);
        q_.sql(" - e.extra ELSE 0 END AS skip, e.most FROM (SELECT COALESCE(sum(mf_extra), 0) AS ");
        q_.sql("extra, COALESCE(max(mf_extra), 0) AS most ");
        // The window's tasks are the list's from mf_skip to the page's end. SQLite skips the
        // first ones by OFFSET along the list-order index without reading their rows;
        // PostgreSQL walks that index only under a constant limit, from the list's start.
        // The extra rows before each: a running sum over the window's tasks and the retried
        // ones in list order, a retried task after a window task of its own.
        q_.sql("FROM mf_extra) e), mf_window AS (SELECT t.* FROM (SELECT t.*, t.mf_place + ");
        q_.sql("t.mf_extra_before AS mf_rows_before FROM (SELECT t.*, sum(t.mf_extra) OVER ");
        q_.sql("(ORDER BY ");
        task_order(query, "t");
        q_.sql(", t.mf_kind ROWS UNBOUNDED PRECEDING) AS mf_extra_before FROM (SELECT ");
        q_.sql(kTaskKey).sql(", t.mf_place, 0 AS mf_extra, 0 AS mf_kind FROM (SELECT t.*, ");
        q_.sql("ROW_NUMBER() OVER (ORDER BY ");
        task_order(query, "t");
        q_.sql(") - 1 + (SELECT skip FROM mf_skip) AS mf_place FROM (SELECT ");
        if constexpr (kPostgres) q_.sql("* FROM (SELECT ");
        q_.sql(kTaskKey).sql(" FROM tasks_v3 t WHERE t.ts_epoch IS NOT NULL");
        scope_below_run(scope, "t");
        if (auto ok = conditions(query, "t"); !ok) return ok;
        q_.sql(" ORDER BY ");
        task_order(query, "t");
        q_.sql(" LIMIT ");
        if constexpr (kPostgres) {
            // The walk stops at the page's end; the tasks before the window are skipped
            // without being numbered.
            integer(query.offset + query.limit);
            q_.sql(") t ORDER BY ");
            task_order(query, "t");
            q_.sql(" OFFSET (SELECT skip FROM mf_skip)");
        } else {
            q_.sql("(SELECT ");
            integer(query.offset + query.limit);
            q_.sql(" - skip FROM mf_skip) OFFSET (SELECT skip FROM mf_skip)");
        }
        q_.sql(") t) t WHERE t.mf_place >= (SELECT skip FROM mf_skip) UNION ALL SELECT ");
        q_.sql(kTaskKey).sql(", NULL, t.mf_extra, 1 FROM mf_extra t) t) t WHERE t.mf_kind = 0)");
        q_.sql(" t WHERE t.mf_rows_before < ");
        integer(query.offset + query.limit);
        q_.sql(" AND t.mf_rows_before >= ");
        integer(query.offset);
        q_.sql(" - (SELECT most FROM mf_skip))");
        return Ok{};
    }

    // A metadata record's attempt: an attempt_ok record's from its tags, the others' from their
    // value.
    void record_attempt(std::string_view alias) {
        const std::string a(alias);
        q_.sql("(CASE WHEN " + a + ".field_name = 'attempt_ok' THEN ");
        tagged_attempt(a + ".tags");
        q_.sql(" ELSE ");
        whole_number(a + ".value");
        q_.sql(" END)");
    }

    // Whether the task p has a record of attempt 0 among those its later records leave out:
    // an attempt or attempt-done record of value '0', an attempt_ok record tagged
    // attempt_id:0, a _task_ok artifact of attempt 0 (the complements of the partial indexes'
    // conditions). The artifact first: a finished attempt has one, and its index is a fifth
    // the size of the records'.
    void attempt_zero_recorded() {
        const std::string zero =
            std::string(
                "m.field_name IN ('attempt', 'attempt-done', 'attempt_ok') AND ((m.field_name IN "
                "('attempt', 'attempt-done') AND m.value = '0') OR (m.field_name = 'attempt_ok' "
                "AND m.tags = ") +
            (kPostgres ? "'[\"attempt_id:0\"]'::jsonb))" : "'[\"attempt_id:0\"]'))");
        q_.sql("EXISTS (SELECT 1 FROM artifact_v3 a WHERE ").sql(of_task("a", false));
        q_.sql(" AND a.name = '_task_ok' AND a.attempt_id = 0)");
        for (const auto& records : index_sized(zero)) {
            q_.sql(" OR EXISTS (SELECT 1 FROM metadata_v3 m WHERE ").sql(of_task("m", false));
            q_.sql(" AND ").sql(records).sql(")");
        }
    }

    // " FROM outer, table alias WHERE key", the table's rows looked up by each row of outer
    // (the few tasks of a page): SQLite keeps a CROSS JOIN's order, PostgreSQL a LATERAL one's,
    // whatever their estimates of tables without statistics say.
    // `joins` follow the lookup, before the WHERE.
    void keyed_join(std::string_view outer, std::string_view table, std::string_view alias,
                    const std::string& key, std::string_view joins = {}) {
        const std::string a(alias);
        q_.sql(" FROM ").sql(outer);
        if constexpr (kPostgres) {
            q_.sql(" CROSS JOIN LATERAL (SELECT * FROM ").sql(table).sql(" " + a + " WHERE ");
            // OFFSET 0 keeps PostgreSQL from flattening the lateral lookup into a plain join.
            q_.sql(key).sql(" OFFSET 0) " + a).sql(joins).sql(" WHERE 1 = 1");
        } else {
            q_.sql(" CROSS JOIN ").sql(table).sql(" " + a).sql(joins).sql(" WHERE ").sql(key);
        }
    }

    // A record of an attempt other than 0, or one that may be: the condition of the partial
    // indexes that find them (the same text, so that both stores use them).
    static std::string later_attempt_record(std::string_view alias) {
        const std::string a(alias);
        return "((" + a + ".field_name IN ('attempt', 'attempt-done') AND " + a +
               ".value <> '0') OR (" + a + ".field_name = 'attempt_ok' AND " + a + ".tags <> " +
               (kPostgres ? "'[\"attempt_id:0\"]'::jsonb" : "'[\"attempt_id:0\"]'") + "))";
    }

    // The list's order of tasks: the client's (on columns never null), then task_id.
    void task_order(const UiListQuery& query, std::string_view alias) {
        for (const auto& order : query.order) {
            if (!find_ui_column(query.resource, order.column)) continue;
            q_.sql(alias)
                .sql(".")
                .sql(quoted(order.column))
                .sql(order.descending ? " DESC, " : ", ");
        }
        q_.sql(alias).sql(".task_id");
    }

    // A task's attempt records (`records`), split in two for PostgreSQL: those whose value and
    // tags are small enough for an index entry, which it reads from a covering partial index
    // without a heap page per record, and the rest (in practice none), from a partial index of
    // their own. The same texts as the indexes' conditions, so that PostgreSQL proves them.
    static std::vector<std::string> index_sized(const std::string& records) {
        if constexpr (kPostgres) {
            const std::string small =
                "octet_length(m.value) <= 256 AND COALESCE(octet_length(CAST(m.tags AS TEXT)), 0) "
                "<= 256";
            return {records + " AND " + small, records + " AND NOT (" + small + ")"};
        } else {
            return {records};
        }
    }

    // "<alias> is of the task p" (a row of a table of tasks), or with `by_range` "of a task in
    // p's range of task ids in its step" (a row of step_ranges()).
    static std::string of_task(std::string_view alias, bool by_range) {
        const std::string a(alias);
        return a + ".flow_id = p.flow_id AND " + a + ".run_number = p.run_number AND " + a +
               ".step_name = p.step_name AND " + a + ".task_id" +
               (by_range ? " BETWEEN p.low AND p.high" : " = p.task_id");
    }

    // Each attempt of the scope's tasks. With `of`, of that table's tasks, looked up by each
    // task's key, and a row with a null attempt_id for a task without any (what a left join of
    // the tasks would give, without its scans); each row carries its task's mf_rows_before and
    // its own place in the list, mf_position.
    void attempts(const UiScope& scope, std::string_view of) {
        const bool keyed = !of.empty();
        // The rows of `table` (as `alias`) that `filter` keeps.
        auto from = [&](std::string_view table, std::string_view alias, const std::string& filter) {
            const std::string a(alias);
            if (!keyed) {
                q_.sql(" FROM ").sql(table).sql(" " + a + " WHERE ").sql(filter);
                scope_below_run(scope, alias);
                return;
            }
            q_.sql(", CAST(NULL AS BIGINT) AS rows_before");
            keyed_join(std::string(of) + " p", table, alias,
                       of_task(alias, false) + " AND " + filter);
        };
        if (keyed) q_.sql("SELECT * FROM (");
        // The next attempt's start ends an attempt too: next_started_at.
        q_.sql(
            "SELECT u.task_id, u.attempt_id, max(u.started_at) AS started_at, "
            "max(u.attempt_finished_at) AS attempt_finished_at, max(u.task_ok_finished_at) AS "
            "task_ok_finished_at, max(u.task_ok_location) AS task_ok_location, max(u.attempt_ok) "
            "AS attempt_ok, (CASE WHEN LEAD(u.attempt_id) OVER (PARTITION BY u.task_id ORDER BY "
            "u.attempt_id) = u.attempt_id + 1 THEN LEAD(max(u.started_at)) OVER (PARTITION BY "
            "u.task_id ORDER BY u.attempt_id) END) AS next_started_at");
        if (keyed) {
            // mf_position: the row's place in the list, its task's rows before it and the
            // attempts before it (a running count, whichever end the null attempt sorts to),
            // numbered here in the pass the attempts take anyway rather than over whole rows.
            q_.sql(
                ", max(max(u.rows_before)) OVER (PARTITION BY u.task_id) AS mf_rows_before, "
                "count(u.attempt_id) OVER (PARTITION BY u.task_id) AS mf_attempts, "
                "max(max(u.rows_before)) OVER (PARTITION BY u.task_id) + (CASE WHEN "
                "count(u.attempt_id) OVER (PARTITION BY u.task_id ORDER BY u.attempt_id) > 0 THEN "
                "count(u.attempt_id) OVER (PARTITION BY u.task_id ORDER BY u.attempt_id) - 1 ELSE "
                "0 END) AS mf_position");
        }
        q_.sql(" FROM (");
        bool first = true;
        for (const auto& records :
             index_sized("m.field_name IN ('attempt', 'attempt-done', 'attempt_ok')")) {
            q_.sql(first ? "" : " UNION ALL ");
            first = false;
            q_.sql("SELECT m.task_id, ");
            record_attempt("m");
            q_.sql(
                " AS attempt_id, (CASE WHEN m.field_name = 'attempt' THEN m.ts_epoch END) AS "
                "started_at, (CASE WHEN m.field_name <> 'attempt' THEN m.ts_epoch END) AS "
                "attempt_finished_at, CAST(NULL AS BIGINT) AS task_ok_finished_at, CAST(NULL AS "
                "TEXT) AS task_ok_location, (CASE WHEN m.field_name = 'attempt_ok' THEN ");
            truth("m.value");
            q_.sql(" END) AS attempt_ok");
            from("metadata_v3", "m", records);
        }
        q_.sql(
            " UNION ALL SELECT a.task_id, a.attempt_id, NULL, NULL, a.ts_epoch, a.location, NULL");
        from("artifact_v3", "a", "a.name = '_task_ok'");
        if (keyed) {
            q_.sql(" UNION ALL SELECT p.task_id, NULL, NULL, NULL, NULL, NULL, NULL, ");
            // A record without an attempt number counts for none, as in the list derived in
            // full; the task's own row (its rows_before set) stands for it without attempts.
            q_.sql("p.mf_rows_before FROM ")
                .sql(of)
                .sql(" p) u WHERE u.attempt_id IS NOT NULL OR ");
            q_.sql("u.rows_before IS NOT NULL GROUP BY u.task_id, u.attempt_id)");
            q_.sql(" g WHERE (g.attempt_id IS NOT NULL OR g.mf_attempts = 0)");
        } else {
            q_.sql(") u WHERE u.attempt_id IS NOT NULL GROUP BY u.task_id, u.attempt_id");
        }
    }

    // The attempt of each task of `of` as attempts() derives it when every attempt record and
    // _task_ok artifact of the task is of attempt 0 (all but the retried few): one aggregate
    // per task, without the grouping by attempt and the passes over each task's attempts.
    // mf_unnamed_attempt marks a task with an attempt_ok record without tags, whose attempt
    // attempts() derives otherwise. With `ranges` (step_ranges() of `of`), the records and
    // artifacts are read by one range scan per step instead of a lookup per task.
    void single_attempts(std::string_view of, std::string_view ranges) {
        q_.sql(
            "SELECT u.task_id, (CASE WHEN count(u.record) > 0 THEN 0 END) AS attempt_id, "
            "max(u.started_at) AS started_at, max(u.attempt_finished_at) AS attempt_finished_at, "
            "max(u.task_ok_finished_at) AS task_ok_finished_at, max(u.task_ok_location) AS "
            "task_ok_location, max(u.attempt_ok) AS attempt_ok, CAST(NULL AS BIGINT) AS "
            "next_started_at, max(u.rows_before) AS mf_rows_before, (CASE WHEN count(u.record) "
            "> 0 THEN 1 ELSE 0 END) AS mf_attempts, max(u.unnamed) AS mf_unnamed_attempt FROM (");
        const bool by_range = !ranges.empty();
        const std::string looked_up_by = std::string(by_range ? ranges : of) + " p";
        bool first = true;
        for (const auto& records :
             index_sized("m.field_name IN ('attempt', 'attempt-done', 'attempt_ok')")) {
            q_.sql(first ? "" : " UNION ALL ");
            first = false;
            q_.sql(
                "SELECT m.task_id, 1 AS record, (CASE WHEN m.field_name = 'attempt' THEN "
                "m.ts_epoch END) AS started_at, (CASE WHEN m.field_name <> 'attempt' THEN "
                "m.ts_epoch END) AS attempt_finished_at, CAST(NULL AS BIGINT) AS "
                "task_ok_finished_at, CAST(NULL AS TEXT) AS task_ok_location, (CASE WHEN "
                "m.field_name = 'attempt_ok' THEN ");
            truth("m.value");
            q_.sql(
                " END) AS attempt_ok, (CASE WHEN m.field_name = 'attempt_ok' AND m.tags IS NULL "
                "THEN 1 ELSE 0 END) AS unnamed, CAST(NULL AS BIGINT) AS rows_before");
            keyed_join(looked_up_by, "metadata_v3", "m",
                       of_task("m", by_range) + " AND " + records);
        }
        q_.sql(" UNION ALL SELECT a.task_id, 1, NULL, NULL, a.ts_epoch, a.location, NULL, 0, NULL");
        keyed_join(looked_up_by, "artifact_v3", "a",
                   of_task("a", by_range) + " AND a.name = '_task_ok'");
        // Every task of `of` has a row, with or without records.
        q_.sql(" UNION ALL SELECT p.task_id, NULL, NULL, NULL, NULL, NULL, NULL, 0, ");
        q_.sql("p.mf_rows_before FROM ").sql(of).sql(" p) u GROUP BY u.task_id");
        // A task in a range but not of `of` has no rows_before.
        if (by_range) q_.sql(" HAVING max(u.rows_before) IS NOT NULL");
    }

    // The rows of the tasks (tasks_v3 in the scope, or with `windowed` mf_window) with the
    // attempts of att.
    void task_rows(const UiScope& scope, const UiStatusClock& clock, bool windowed) {
        const std::string finished = "COALESCE(a.attempt_finished_at, a.task_ok_finished_at)";
        const std::string last_end = "COALESCE(" +
                                     greatest({"a.attempt_finished_at", "a.task_ok_finished_at"}) +
                                     ", a.next_started_at)";
        auto stale_heartbeat = [&] {
            q_.sql("(t.last_heartbeat_ts IS NOT NULL AND abs(");
            integer(clock.now_ms / 1000);
            q_.sql(" - t.last_heartbeat_ts) > ");
            integer(clock.heartbeat_threshold_s);
            q_.sql(")");
        };
        auto old_without_heartbeat = [&] {
            q_.sql("(t.last_heartbeat_ts IS NULL AND abs(");
            integer(clock.now_ms);
            q_.sql(" - COALESCE(a.started_at, t.ts_epoch)) > ");
            integer(clock.old_run_failure_cutoff_ms);
            q_.sql(")");
        };
        q_.sql(
            "SELECT t.flow_id AS \"flow_id\", t.run_number AS \"run_number\", t.run_id AS "
            "\"run_id\", t.step_name AS \"step_name\", t.task_id AS \"task_id\", t.task_name AS "
            "\"task_name\", t.user_name AS \"user_name\", (CASE WHEN a.attempt_ok = 1 THEN "
            "'completed' WHEN a.attempt_ok = 0 THEN 'failed' WHEN ");
        q_.sql(finished).sql(
            " IS NOT NULL THEN 'unknown' WHEN a.next_started_at IS NOT NULL THEN ");
        q_.sql("'failed' WHEN ");
        stale_heartbeat();
        q_.sql(" THEN 'failed' WHEN ");
        old_without_heartbeat();
        q_.sql(
            " THEN 'failed' WHEN t.last_heartbeat_ts IS NULL AND a.attempt_id IS NULL THEN "
            "'pending' ELSE 'running' END) AS \"status\", (CASE WHEN a.attempt_ok IS NOT NULL "
            "THEN NULL ELSE a.task_ok_location END) AS \"task_ok\", t.ts_epoch AS \"ts_epoch\", "
            "a.started_at AS \"started_at\", (CASE WHEN ");
        q_.sql(last_end).sql(" IS NULL AND ");
        stale_heartbeat();
        q_.sql(" THEN t.last_heartbeat_ts * 1000 ELSE ").sql(last_end);
        q_.sql(" END) AS \"finished_at\", (CASE WHEN (");
        old_without_heartbeat();
        q_.sql(" AND ").sql(finished).sql(" IS NULL) OR (t.last_heartbeat_ts IS NULL AND ");
        q_.sql("a.attempt_id IS NULL) THEN NULL ELSE COALESCE(");
        q_.sql(greatest({"a.attempt_finished_at", "a.task_ok_finished_at"}));
        q_.sql(", a.next_started_at, t.last_heartbeat_ts * 1000, ");
        integer(clock.now_ms);
        q_.sql(
            ") - COALESCE(a.started_at, t.ts_epoch) END) AS \"duration\", COALESCE(a.attempt_id, "
            "0) AS \"attempt_id\", ");
        // A page of one run's tasks reads the run's row once (PostgreSQL joined it once per
        // task, a descent each).
        const bool one_run = kPostgres && windowed && scope.flow_id && scope.run;
        if (one_run) {
            for (std::string_view column : {"tags", "system_tags"}) {
                q_.sql("(SELECT r.").sql(column).sql(" FROM runs_v3 r WHERE r.flow_id = ");
                q_.value(*scope.flow_id).sql(" AND r.run_number = ");
                run_number(scope);
                q_.sql(") AS ").sql(quoted(column)).sql(", ");
            }
        } else {
            q_.sql("r.tags AS \"tags\", r.system_tags AS \"system_tags\", ");
        }
        q_.sql("t.last_heartbeat_ts AS \"last_heartbeat_ts\"");
        constexpr std::string_view run =
            " JOIN runs_v3 r ON r.flow_id = t.flow_id AND r.run_number = t.run_number";
        if (windowed) {
            q_.sql(", a.mf_position");
            keyed_join("att a", "tasks_v3", "t", "t.task_id = a.task_id", one_run ? "" : run);
        } else {
            q_.sql(" FROM tasks_v3 t").sql(run).sql(" LEFT JOIN att a ON a.task_id = t.task_id");
            q_.sql(" WHERE 1 = 1");
            scope_below_run(scope, "t");
        }
    }

    // Metadata keeps its own tags; attempt_id comes from its "attempt_id:N" tag.
    void metadata(const UiScope& scope) {
        q_.sql(
            "SELECT m.id AS \"id\", m.flow_id AS \"flow_id\", m.run_number AS \"run_number\", "
            "m.run_id AS \"run_id\", m.step_name AS \"step_name\", m.task_id AS \"task_id\", "
            "m.task_name AS \"task_name\", ");
        tagged_attempt("m.tags");
        q_.sql(
            " AS \"attempt_id\", m.field_name AS \"field_name\", m.value AS \"value\", m.type AS "
            "\"type\", m.user_name AS \"user_name\", m.ts_epoch AS \"ts_epoch\", m.tags AS "
            "\"tags\", m.system_tags AS \"system_tags\" FROM metadata_v3 m WHERE 1 = 1");
        scope_below_run(scope, "m");
    }

    void artifacts(const UiScope& scope) {
        q_.sql(
            "SELECT a.flow_id AS \"flow_id\", a.run_number AS \"run_number\", a.run_id AS "
            "\"run_id\", a.step_name AS \"step_name\", a.task_id AS \"task_id\", a.task_name AS "
            "\"task_name\", a.name AS \"name\", a.location AS \"location\", a.ds_type AS "
            "\"ds_type\", a.sha AS \"sha\", a.type AS \"type\", a.content_type AS "
            "\"content_type\", a.user_name AS \"user_name\", a.attempt_id AS \"attempt_id\", "
            "a.ts_epoch AS \"ts_epoch\", r.tags AS \"tags\", r.system_tags AS \"system_tags\" "
            "FROM artifact_v3 a JOIN runs_v3 r ON r.flow_id = a.flow_id AND r.run_number = "
            "a.run_number WHERE 1 = 1");
        scope_below_run(scope, "a");
    }

    // --- Filters, order, pages ---

    void output_columns(std::string_view alias, UiResource resource) {
        bool first = true;
        for (const auto& column : ui_columns(resource)) {
            if (!first) q_.sql(", ");
            first = false;
            q_.sql(alias).sql(".").sql(quoted(column.name));
        }
    }

    // " AND (...)" per filter (its values OR-ed) and per tag filter.
    Result<Ok> conditions(const UiListQuery& query, std::string_view alias) {
        for (const auto& filter : query.filters) {
            const UiColumn* column = find_ui_column(query.resource, filter.field);
            if (!column || filter.values.empty()) continue;
            const std::string operand = std::string(alias) + "." + quoted(column->name);
            q_.sql(" AND (");
            for (std::size_t i = 0; i < filter.values.size(); ++i) {
                if (i > 0) q_.sql(" OR ");
                if (auto ok = condition(*column, operand, filter.op, filter.values[i]); !ok)
                    return ok;
            }
            q_.sql(")");
        }
        for (const auto& tag_filter : query.tag_filters) tag_condition(tag_filter, alias);
        return Ok{};
    }

    Result<Ok> condition(const UiColumn& column, const std::string& operand, FilterOp op,
                         const std::optional<std::string>& value) {
        if (!value) {
            q_.sql(operand).sql(" IS NULL");
            return Ok{};
        }
        if (is_like(op)) {
            if (column.kind == UiColumnKind::text) {
                q_.sql(operand);
            } else {
                q_.sql("CAST(").sql(operand).sql(" AS TEXT)");
            }
            q_.sql(ilike()).value(like_pattern(op, *value));
            return Ok{};
        }
        if (column.kind == UiColumnKind::json) {
            q_.sql("CAST(").sql(operand).sql(" AS TEXT)");
        } else {
            q_.sql(operand);
        }
        q_.sql(comparison(op, Operators{null_safe_equal(), ilike()}));
        if (column.kind == UiColumnKind::integer) {
            const auto number = parse_number<std::int64_t>(*value);
            if (!number) {
                return Error::invalid("invalid input syntax for type bigint: \"" + *value + "\"");
            }
            integer(*number);
        } else {
            q_.sql("CAST(").value(*value).sql(" AS TEXT)");
        }
        return Ok{};
    }

    // _tags: every (all) or any of the tags among tags and system tags; likeall / likeany:
    // every or any of the terms inside the tag lists' text.
    void tag_condition(const TagFilter& filter, std::string_view alias) {
        if (filter.values.empty()) return;
        const std::string a(alias);
        const bool every =
            filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::likeall;
        const bool exact =
            filter.mode == TagFilter::Mode::all || filter.mode == TagFilter::Mode::any;
        q_.sql(" AND (");
        if constexpr (kPostgres) {
            if (exact) {
                q_.sql("(" + a + ".tags || " + a + ".system_tags) ").sql(every ? "?&" : "?|");
                q_.sql(" ARRAY[");
                for (std::size_t i = 0; i < filter.values.size(); ++i) {
                    if (i > 0) q_.sql(", ");
                    q_.sql("CAST(").value(filter.values[i]).sql(" AS TEXT)");
                }
                q_.sql("])");
                return;
            }
        }
        for (std::size_t i = 0; i < filter.values.size(); ++i) {
            if (i > 0) q_.sql(every ? " AND " : " OR ");
            const std::string& tag = filter.values[i];
            if constexpr (kPostgres) {
                q_.sql("strpos(CAST(" + a + ".tags || " + a + ".system_tags AS TEXT), CAST(");
                q_.value(tag).sql(" AS TEXT)) > 0");
            } else if (exact) {
                q_.sql("(EXISTS (SELECT 1 FROM json_each(" + a + ".tags) WHERE type = 'text' AND ");
                q_.sql("value = ").value(tag);
                q_.sql(") OR EXISTS (SELECT 1 FROM json_each(" + a + ".system_tags) WHERE type = ");
                q_.sql("'text' AND value = ").value(tag).sql("))");
            } else {
                q_.sql("(instr(" + a + ".tags, ").value(tag).sql(") > 0 OR instr(" + a);
                q_.sql(".system_tags, ").value(tag).sql(") > 0)");
            }
        }
        q_.sql(")");
    }

    // The columns that make the order total, after the client's: a row's identity.
    static std::vector<std::string_view> identity(UiResource resource) {
        switch (resource) {
            case UiResource::flows:
                return {"flow_id"};
            case UiResource::runs:
                return {"flow_id", "run_number"};
            case UiResource::steps:
                return {"step_name"};
            case UiResource::tasks:
                return {"task_id", "attempt_id"};
            case UiResource::metadata:
                return {"id"};
            case UiResource::artifacts:
                return {"task_id", "attempt_id", "name"};
        }
        return {};
    }

    // The client's order, nulls last going up and first going down (PostgreSQL's way).
    void order_list(const UiListQuery& query, std::string_view alias) {
        bool first = true;
        auto item = [&](const UiColumn& column, bool descending) {
            if (!first) q_.sql(", ");
            first = false;
            const std::string operand = std::string(alias) + "." + quoted(column.name);
            if (column.nullable)
                q_.sql("(").sql(operand).sql(descending ? " IS NULL) DESC, " : " IS NULL), ");
            q_.sql(operand).sql(descending ? " DESC" : "");
        };
        for (const auto& order : query.order) {
            if (const UiColumn* column = find_ui_column(query.resource, order.column))
                item(*column, order.descending);
        }
        for (auto name : identity(query.resource))
            item(*find_ui_column(query.resource, name), false);
    }

    void order_by(const UiListQuery& query, std::string_view alias) {
        q_.sql(" ORDER BY ");
        order_list(query, alias);
    }

    // The rows of query.keys' runs, or of their tasks' newest attempts (see UiListQuery::keys).
    // A task's attempts are derived by the lookups by key of a page's tasks.
    Result<Ok> keyed_list(const UiListQuery& query) {
        const UiScope everything;
        if (query.resource == UiResource::runs) {
            q_.sql("SELECT ");
            output_columns("x", query.resource);
            q_.sql(" FROM (");
            if (auto ok = runs(everything, query.clock, nullptr, &*query.keys); !ok) return ok;
            q_.sql(") x");
            return Ok{};
        }
        if (query.resource != UiResource::tasks)
            return Error::invalid("only runs and tasks are read by their keys");
        q_.sql("WITH mf_keys AS (");
        key_rows(*query.keys);
        q_.sql("), mf_window AS (SELECT ").sql(kTaskKey);
        q_.sql(
            ", 0 AS mf_rows_before FROM mf_keys k JOIN tasks_v3 t ON t.flow_id = k.flow_id AND "
            "t.run_number = k.run_number AND t.step_name = k.step_name AND t.task_id = "
            "k.task_id), att AS (");
        attempts(everything, "mf_window");
        q_.sql(") SELECT ");
        output_columns("x", query.resource);
        q_.sql(
            " FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.task_id ORDER BY x.attempt_id "
            "DESC) AS mf_newest FROM (");
        task_rows(everything, query.clock, true);
        q_.sql(") x) x WHERE x.mf_newest = 1");
        return Ok{};
    }

    // The keys as rows (flow_id, run_number, step_name, task_id), from one bound JSON text
    // whatever their number.
    void key_rows(const std::vector<UiKey>& keys) {
        boost::json::array list;
        list.reserve(keys.size());
        for (const auto& key : keys) {
            list.push_back(boost::json::object{{"flow_id", key.flow_id},
                                               {"run_number", key.run_number},
                                               {"step_name", key.step_name},
                                               {"task_id", key.task_id}});
        }
        const std::string text = boost::json::serialize(list);
        if constexpr (kPostgres) {
            q_.sql("SELECT k.flow_id, k.run_number, k.step_name, k.task_id FROM ");
            q_.sql("jsonb_to_recordset(CAST(").value(text).sql(" AS jsonb)) AS k(flow_id TEXT, ");
            q_.sql("run_number BIGINT, step_name TEXT, task_id BIGINT)");
        } else {
            q_.sql(
                "SELECT json_extract(k.value, '$.flow_id') AS flow_id, json_extract(k.value, "
                "'$.run_number') AS run_number, json_extract(k.value, '$.step_name') AS "
                "step_name, json_extract(k.value, '$.task_id') AS task_id FROM json_each(");
            q_.value(text).sql(") k");
        }
    }

    // The page of groups first, then each group's first rows.
    Result<Ok> grouped_list(const UiListQuery& query) {
        std::vector<std::string> groups;
        for (const auto& name : query.group) {
            if (const UiColumn* column = find_ui_column(query.resource, name))
                groups.push_back(quoted(column->name));
        }
        auto group_order = [&](std::string_view alias) {
            for (std::size_t i = 0; i < groups.size(); ++i) {
                if (i > 0) q_.sql(", ");
                const std::string operand = std::string(alias) + "." + groups[i];
                q_.sql("(").sql(operand).sql(" IS NULL), ").sql(operand);
            }
        };
        q_.sql("WITH filtered AS (SELECT * FROM (");
        if (auto ok = rows(query); !ok) return ok;
        q_.sql(") x WHERE 1 = 1");
        if (auto ok = conditions(query, "x"); !ok) return ok;
        q_.sql("), page_groups AS (SELECT ");
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (i > 0) q_.sql(", ");
            q_.sql("x.").sql(groups[i]).sql(" AS g" + std::to_string(i));
        }
        q_.sql(" FROM filtered x GROUP BY ");
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (i > 0) q_.sql(", ");
            q_.sql("x.").sql(groups[i]);
        }
        q_.sql(" ORDER BY ");
        group_order("x");
        page(query.limit, query.offset);
        q_.sql(") SELECT ");
        output_columns("y", query.resource);
        q_.sql(" FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY ");
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (i > 0) q_.sql(", ");
            q_.sql("x.").sql(groups[i]);
        }
        q_.sql(" ORDER BY ");
        order_list(query, "x");
        q_.sql(") AS mf_row FROM filtered x JOIN page_groups g ON ");
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (i > 0) q_.sql(" AND ");
            q_.sql("x.").sql(groups[i]).sql(null_safe_equal()).sql("g.g" + std::to_string(i));
        }
        q_.sql(") y WHERE y.mf_row <= ");
        integer(query.group_limit);
        q_.sql(" ORDER BY ");
        group_order("y");
        q_.sql(", y.mf_row");
        return Ok{};
    }

    void page(std::int64_t limit, std::int64_t offset) {
        if (limit <= 0) return;
        q_.sql(" LIMIT ");
        integer(limit);
        q_.sql(" OFFSET ");
        integer(offset);
    }

    Query& q_;
};

}  // namespace mf::sql
