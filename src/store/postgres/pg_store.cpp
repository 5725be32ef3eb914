#include "store/postgres/pg_store.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <mutex>
#include <set>
#include <variant>

#include "store/change_tags.hpp"
#include "store/postgres/pg_change_feed.hpp"
#include "store/postgres/pg_lock_order.hpp"
#include "store/postgres/pg_migrations.hpp"
#include "store/postgres/pg_own_backends.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/postgres/pg_sql.hpp"
#include "store/ui_sql.hpp"

namespace mf {
namespace {

namespace asio = boost::asio;
using pg::Query;
using pg::Rows;

constexpr std::string_view kInvalidRegularExpression = "2201B";

std::mutex observer_mutex;
pg::QueryObserver query_observer;
std::atomic<bool> observer_set{false};

void notify_observer(const std::vector<Query>& queries) {
    if (!observer_set.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(observer_mutex);
    if (!query_observer) return;
    for (const auto& query : queries) query_observer(query);
}

Result<std::vector<Rows>> checked(pg::Outcome outcome) {
    if (auto* failure = std::get_if<pg::ServerError>(&outcome)) return pg::to_error(*failure);
    return std::get<std::vector<Rows>>(std::move(outcome));
}

template <class T>
std::vector<T> collect(const Rows& rows, T (*read_row)(const Rows&, int)) {
    std::vector<T> items;
    items.reserve(rows.size());
    for (int row = 0; row < rows.size(); ++row) items.push_back(read_row(rows, row));
    return items;
}

std::string key_text(const ObjectKey& key) {
    return key.is_number() ? std::to_string(key.as_number()) : key.as_name();
}

Error missing_run(const std::string& flow_id, const ObjectKey& run) {
    return Error::missing_parent("run " + flow_id + "/" + key_text(run) + " does not exist");
}

std::optional<RunStatus> parse_status(const std::optional<std::string>& text) {
    if (text == "running") return RunStatus::running;
    if (text == "completed") return RunStatus::completed;
    if (text == "failed") return RunStatus::failed;
    return std::nullopt;
}

// The run a create names, as the row below it needs it: a CTE "parent" for the statement
// that inserts from it.
Query& with_parent_run(Query& query, const std::string& flow_id, const ObjectKey& run) {
    query.sql("WITH parent AS (SELECT r.run_number, r.run_id, r.tags, r.system_tags");
    return from_run(query, "", flow_id, run).sql(")");
}

Error tag_mutation_error(const pg::ServerError& failure) {
    if (failure.sqlstate == pg::kSerializationFailure)
        return Error::retry_conflict("Conflicting concurrent tag mutation, please retry");
    return pg::to_error(failure);
}

constexpr std::string_view kArtifactOrder =
    " ORDER BY a.ts_epoch DESC, a.task_id DESC, a.name DESC";

class PostgresStore final : public Store, public UiReader {
public:
    explicit PostgresStore(const PostgresOptions& options)
        : conninfo_(options.conninfo),
          trigger_schema_(options.trigger_schema),
          timeout_(options.timeout),
          clock_(options.clock ? options.clock : &system_clock_),
          first_analyze_rows_(options.first_analyze_rows),
          schema_(options.schema),
          own_backends_(std::make_shared<pg::OwnBackends>()),
          writers_(pool_options(options, options.conninfo, own_backends_)) {
        if (options.reader_conninfo) {
            readers_ = std::make_unique<pg::PoolSet>(
                pool_options(options, *options.reader_conninfo, nullptr));
        }
    }

    std::optional<PoolGauges> pool_gauges() override {
        auto gauges = writers_.gauges();
        if (readers_) {
            const auto reading = readers_->gauges();
            gauges.open += reading.open;
            gauges.idle += reading.idle;
            gauges.waiting += reading.waiting;
        }
        return gauges;
    }

    std::optional<DatabaseErrorCounts> database_errors() const override {
        auto conflicts = writers_.conflicts();
        if (readers_) {
            const auto reading = readers_->conflicts();
            conflicts.deadlocks += reading.deadlocks;
            conflicts.serialization_failures += reading.serialization_failures;
        }
        return DatabaseErrorCounts{
            .unavailable = unavailable_errors_.load(),
            .timeout = timeout_errors_.load(),
            .other = other_errors_.load(),
            .deadlocks_retried = conflicts.deadlocks,
            .serialization_failures_retried = conflicts.serialization_failures};
    }

    void warm_up(const std::vector<asio::any_io_executor>& loops) override {
        if (!schema_ready()) return;
        for (const auto& loop : loops) {
            for (pg::PoolSet* pools : {&writers_, readers_.get()}) {
                if (!pools) continue;
                asio::co_spawn(loop, fill(pools->pool_for(loop)), asio::detached);
            }
        }
    }

    UiReader& ui_reader() override { return *this; }

    // The store's own commits go to the sink right after they commit, as on SQLite: they do
    // not wait for their notification's way through the database and the feed's connection,
    // which skips them. The feed hears the other writers.
    void watch_changes(ChangeSink sink) override {
        constexpr std::chrono::seconds kFirstListenWait{5};
        {
            std::lock_guard lock(sink_mutex_);
            sink_ = std::make_shared<const ChangeSink>(sink);
        }
        feed_ = std::make_unique<pg::ChangeFeed>(conninfo_, trigger_schema_, std::move(sink),
                                                 own_backends_, kFirstListenWait);
    }

    Async<std::vector<UiRow>> ui_list(UiListQuery ui_query) override {
        Query query;
        if (auto ok = sql::UiSql<sql::Dialect::postgres, Query>(query).list(ui_query); !ok)
            co_return ok.take_error();
        std::vector<Query> queries{std::move(query)};
        auto rows = checked(co_await read_queries(queries));
        if (!rows) co_return rows.take_error();
        const Rows& found = rows->front();
        std::vector<UiRow> result;
        result.reserve(static_cast<std::size_t>(found.size()));
        for (int row = 0; row < found.size(); ++row) {
            UiRow cells;
            for (int column = 0; column < found.columns(); ++column)
                cells.push_back(found.optional_text(row, column));
            result.push_back(std::move(cells));
        }
        co_return result;
    }

    Async<std::vector<std::string>> ui_run_tags() override {
        Query query;
        sql::UiSql<sql::Dialect::postgres, Query>(query).run_tags();
        std::vector<Query> queries{std::move(query)};
        auto rows = checked(co_await read_queries(queries));
        if (!rows) co_return rows.take_error();
        std::vector<std::string> tags;
        for (int row = 0; row < rows->front().size(); ++row)
            tags.push_back(rows->front().text(row, 0));
        co_return tags;
    }

    Async<Ok> check_health() override {
        std::vector<Query> queries{Query("SELECT 1")};
        auto rows = checked(co_await run_queries(writers_, queries));
        if (!rows) co_return rows.take_error();
        co_return Ok{};
    }

    Async<Flow> create_flow(NewFlow flow) override {
        Query insert("INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) ");
        insert.sql("VALUES (").value(flow.flow_id).sql(", ").value(flow.user_name).sql(", ");
        insert.value(flow.ts_epoch).sql(", ").value(pg::json_value(flow.tags)).sql("::jsonb, ");
        insert.value(pg::json_value(flow.system_tags)).sql("::jsonb)");
        std::vector<Query> queries{std::move(insert)};
        auto rows = checked(co_await run_queries(writers_, queries));
        if (!rows) co_return rows.take_error();
        tell(RowChange{.table = RowChange::Table::flows, .flow_id = flow.flow_id});
        co_return Flow{flow.flow_id, flow.user_name, flow.ts_epoch, flow.tags, flow.system_tags};
    }

    Async<Flow> get_flow(std::string flow_id) override {
        Query query("SELECT ");
        query.sql(pg::kFlowColumns).sql(" FROM flows_v3 f WHERE f.flow_id = ").value(flow_id);
        return single(std::move(query), pg::flow_row);
    }

    Async<std::vector<Flow>> list_flows(std::optional<Paging> paging) override {
        Query query("SELECT ");
        query.sql(pg::kFlowColumns).sql(" FROM flows_v3 f");
        if (paging && paging->after) {
            query.sql(" WHERE (f.ts_epoch, f.flow_id) < (").value(paging->after->ts_epoch);
            query.sql(", ").value(paging->after->name).sql(")");
        }
        query.sql(" ORDER BY f.ts_epoch DESC, f.flow_id DESC");
        return list(std::move(pg::limit(query, paging)), pg::flow_row);
    }

    Async<Run> create_run(NewRun run) override {
        Query insert(
            "INSERT INTO runs_v3 (flow_id, user_name, ts_epoch, tags, system_tags, run_id, "
            "last_heartbeat_ts) VALUES (");
        insert.value(run.flow_id).sql(", ").value(run.user_name).sql(", ").value(run.ts_epoch);
        insert.sql(", ").value(pg::json_value(run.tags)).sql("::jsonb, ");
        insert.value(pg::json_value(run.system_tags)).sql("::jsonb, ").value(run.run_id);
        insert.sql(", ").value(run.heartbeat_ts).sql(") RETURNING run_number");
        std::vector<Query> queries{std::move(insert)};
        auto rows = checked(co_await write_queries(queries));
        if (!rows) co_return rows.take_error();
        const std::int64_t run_number = rows->front().int64(0, 0);
        if (run.run_id) known_numbers_.add_run(run.flow_id, *run.run_id, run_number);
        tell(RowChange{
            .table = RowChange::Table::runs, .flow_id = run.flow_id, .run_number = run_number});
        co_return Run{
            .flow_id = run.flow_id,
            .run_number = run_number,
            .run_id = run.run_id,
            .user_name = run.user_name,
            .ts_epoch = run.ts_epoch,
            .tags = run.tags,
            .system_tags = run.system_tags,
            .last_heartbeat_ts = run.heartbeat_ts,
            .status = std::nullopt,
        };
    }

    Async<Run> get_run(RunPath path) override {
        Query query("SELECT ");
        query.sql(pg::kRunColumns);
        pg::from_run(query, "", path.flow_id, path.run);
        return single(std::move(query), pg::run_row);
    }

    Async<std::vector<Run>> list_runs(std::string flow_id, RunQuery run_query) override {
        auto query = pg::runs_query(flow_id, run_query, clock_->now_s());
        if (!query) co_return query.take_error();
        std::vector<Query> queries{std::move(query).value()};
        auto rows = checked(co_await read_queries(queries));
        if (!rows) co_return rows.take_error();
        const Rows& found = rows->front();
        std::vector<Run> runs;
        for (int row = 0; row < found.size(); ++row) {
            Run item = pg::run_row(found, row);
            item.status = parse_status(found.optional_text(row, 8));
            runs.push_back(std::move(item));
        }
        co_return runs;
    }

    Async<bool> heartbeat_run(RunPath path, std::int64_t now_s) override {
        std::vector<Query> queries{pg::run_heartbeat(path.flow_id, path.run, now_s)};
        auto order = co_await lock_order(path.flow_id, path.run, nullptr);
        auto rows = checked(co_await write_queries(queries, std::move(order)));
        if (!rows) co_return rows.take_error();
        const bool updated = rows->front().affected() == 1;
        if (updated) tell(run_update(path.flow_id, rows->front()));
        co_return updated;
    }

    Async<MutatedTags> mutate_run_tags(RunPath path, TagMutation mutation) override;

    Async<Step> create_step(StepPath path, NewStep step) override {
        // Steps always carry a string run id: the run's own, or else its number (docs/api.md#ids).
        Query insert;
        with_parent_run(insert, path.flow_id, path.run);
        insert.sql(
            ", inserted AS (INSERT INTO steps_v3 (flow_id, run_number, step_name, user_name, "
            "ts_epoch, tags, system_tags, run_id) SELECT ");
        insert.value(path.flow_id).sql(", parent.run_number, ").value(path.step_name).sql(", ");
        insert.value(step.user_name).sql(", ").value(step.ts_epoch).sql(", ");
        insert.value(pg::json_value(step.tags)).sql("::jsonb, ");
        insert.value(pg::json_value(step.system_tags)).sql("::jsonb, ");
        insert.sql("coalesce(parent.run_id, parent.run_number::text) FROM parent RETURNING 1) ");
        insert.sql(
            "SELECT parent.run_number, coalesce(parent.run_id, parent.run_number::text), "
            "parent.tags, parent.system_tags FROM parent");
        std::vector<Query> queries{std::move(insert)};
        auto rows = checked(co_await write_queries(queries));
        if (!rows) co_return rows.take_error();
        const Rows& parent = rows->front();
        if (parent.empty()) co_return missing_run(path.flow_id, path.run);
        tell(RowChange{.table = RowChange::Table::steps,
                       .flow_id = path.flow_id,
                       .run_number = parent.int64(0, 0),
                       .step_name = path.step_name});
        co_return Step{
            .flow_id = path.flow_id,
            .run_number = parent.int64(0, 0),
            .run_id = parent.text(0, 1),
            .step_name = path.step_name,
            .user_name = step.user_name,
            .ts_epoch = step.ts_epoch,
            .tags = parent.optional_text(0, 2).value_or(kJsonNull),
            .system_tags = parent.optional_text(0, 3).value_or(kJsonNull),
        };
    }

    Async<Step> get_step(StepPath path) override {
        Query query("SELECT ");
        query.sql(pg::kStepColumns);
        pg::from_run(query,
                     " JOIN steps_v3 s ON s.flow_id = r.flow_id AND s.run_number = "
                     "r.run_number",
                     path.flow_id, path.run)
            .sql(" AND ");
        pg::run_key(query, "s", path.flow_id, path.run);
        query.sql(" AND s.step_name = ").value(path.step_name);
        return single(std::move(query), pg::step_row);
    }

    Async<std::vector<Step>> list_steps(RunPath path) override {
        Query query("SELECT ");
        query.sql(pg::kStepColumns);
        pg::from_run(query,
                     " JOIN steps_v3 s ON s.flow_id = r.flow_id AND s.run_number = "
                     "r.run_number",
                     path.flow_id, path.run);
        query.sql(" ORDER BY s.step_name COLLATE \"C\"");  // byte order, whatever the locale
        return list(std::move(query), pg::step_row);
    }

    Async<Task> create_task(StepPath path, NewTask task) override {
        // A missing run leaves "parent" empty; a missing step fails the foreign key.
        Query insert;
        with_parent_run(insert, path.flow_id, path.run);
        insert.sql(
            ", inserted AS (INSERT INTO tasks_v3 (flow_id, run_number, step_name, user_name, "
            "ts_epoch, tags, system_tags, run_id, task_name, last_heartbeat_ts) SELECT ");
        insert.value(path.flow_id).sql(", parent.run_number, ").value(path.step_name).sql(", ");
        insert.value(task.user_name).sql(", ").value(task.ts_epoch).sql(", ");
        insert.value(pg::json_value(task.tags)).sql("::jsonb, ");
        insert.value(pg::json_value(task.system_tags)).sql("::jsonb, parent.run_id, ");
        insert.value(task.task_name).sql(", ").value(task.heartbeat_ts);
        insert.sql(" FROM parent RETURNING task_id) SELECT parent.run_number, parent.run_id, ");
        insert.sql("parent.tags, parent.system_tags, inserted.task_id FROM parent, inserted");
        std::vector<Query> queries{std::move(insert)};
        std::string order;
        if (task.heartbeat_ts) {
            // A heartbeating client's new task counts as a sign of life of its run (6.5.1).
            queries.push_back(pg::run_heartbeat(path.flow_id, path.run, *task.heartbeat_ts));
            order = co_await lock_order(path.flow_id, path.run, nullptr);
        }
        auto rows = checked(co_await write_queries(queries, std::move(order)));
        if (!rows) co_return rows.take_error();
        const Rows& created = rows->front();
        if (created.empty()) co_return missing_run(path.flow_id, path.run);
        const std::int64_t run_number = created.int64(0, 0);
        if (!path.run.is_number())
            known_numbers_.add_run(path.flow_id, path.run.as_name(), run_number);
        if (task.task_name) {
            known_numbers_.add_task(path.flow_id, run_number, path.step_name, *task.task_name,
                                    created.int64(0, 4));
        }
        tell(RowChange{.table = RowChange::Table::tasks,
                       .flow_id = path.flow_id,
                       .run_number = run_number,
                       .step_name = path.step_name,
                       .task_id = created.int64(0, 4)});
        if (task.heartbeat_ts && (*rows)[1].affected() == 1)
            tell(run_update(path.flow_id, (*rows)[1]));
        co_return Task{
            .flow_id = path.flow_id,
            .run_number = run_number,
            .run_id = created.optional_text(0, 1),
            .step_name = path.step_name,
            .task_id = created.int64(0, 4),
            .task_name = task.task_name,
            .user_name = task.user_name,
            .ts_epoch = task.ts_epoch,
            .tags = created.optional_text(0, 2).value_or(kJsonNull),
            .system_tags = created.optional_text(0, 3).value_or(kJsonNull),
            .last_heartbeat_ts = task.heartbeat_ts,
        };
    }

    Async<Task> get_task(TaskPath path) override {
        Query query("SELECT ");
        query.sql(pg::kTaskColumns);
        pg::from_task(query, path);
        return single(std::move(query), pg::task_row);
    }

    Async<std::vector<Task>> list_tasks(StepPath path, TaskQuery task_query) override {
        auto query = pg::tasks_query(path, task_query);
        if (!query) co_return query.take_error();
        co_return co_await list(std::move(query).value(), pg::task_row);
    }

    Async<std::vector<Task>> find_tasks_by_metadata(StepPath path,
                                                    TaskPatternQuery pattern_query) override {
        // As in the reference, which tests the parameters' truth, an empty one sets no
        // condition.
        auto condition = [](const std::optional<std::string>& value) {
            return value && !value->empty() ? &*value : nullptr;
        };
        const std::string* field_name = condition(pattern_query.field_name);
        const std::string* pattern = condition(pattern_query.pattern);
        Query query("SELECT ");
        query.sql(pg::kTaskColumns);
        pg::from_run(query, pg::kJoinTasks, path.flow_id, path.run).sql(" AND ");
        pg::run_key(query, "t", path.flow_id, path.run);
        query.sql(" AND t.step_name = ").value(path.step_name);
        query.sql(" AND EXISTS (SELECT 1 FROM metadata_v3 m WHERE ");
        pg::run_key(query, "m", path.flow_id, path.run);
        query.sql(" AND m.step_name = ").value(path.step_name).sql(" AND m.task_id = t.task_id");
        if (field_name) query.sql(" AND m.field_name = ").value(*field_name);
        if (pattern) query.sql(" AND m.value ~ ").value(*pattern);
        query.sql(") ORDER BY t.task_id");
        std::vector<Query> queries{std::move(query)};
        auto outcome = co_await read_queries(queries);
        if (auto* failure = std::get_if<pg::ServerError>(&outcome)) {
            // A bad pattern is the client's error, not a failed query.
            if (failure->sqlstate == kInvalidRegularExpression)
                co_return Error::invalid(failure->message);
            co_return pg::to_error(*failure);
        }
        co_return collect(std::get<std::vector<Rows>>(outcome).front(), pg::task_row);
    }

    Async<bool> heartbeat_task(TaskPath path, std::int64_t now_s) override {
        std::vector<Query> queries{pg::run_heartbeat(path.flow_id, path.run, now_s),
                                   pg::task_heartbeat(path, now_s)};
        auto order = co_await lock_order(path.flow_id, path.run, &path);
        auto rows = checked(co_await write_queries(queries, std::move(order)));
        if (!rows) co_return rows.take_error();
        if ((*rows)[0].affected() == 1) tell(run_update(path.flow_id, (*rows)[0]));
        const Rows& task = (*rows)[1];
        const bool updated = task.affected() == 1;
        if (updated) {
            tell(RowChange{.table = RowChange::Table::tasks,
                           .operation = RowChange::Operation::update,
                           .flow_id = path.flow_id,
                           .run_number = task.int64(0, 0),
                           .step_name = path.step_name,
                           .task_id = task.int64(0, 1)});
        }
        co_return updated;
    }

    Async<std::int64_t> add_metadata(TaskPath path, std::vector<NewMetadata> records,
                                     std::int64_t ts_epoch) override {
        Columns field_names, values, types, users, tags, system_tags;
        for (const auto& record : records) {
            field_names.push_back(record.field_name);
            values.push_back(record.value);
            types.push_back(record.type);
            users.push_back(record.user_name);
            tags.push_back(pg::json_value(record.tags));
            system_tags.push_back(pg::json_value(record.system_tags));
        }
        Query insert(
            "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, "
            "value, type, user_name, ts_epoch, tags, system_tags, run_id, task_name) SELECT "
            "k.flow_id, k.run_number, k.step_name, k.task_id, v.field_name, v.value, v.type, "
            "v.user_name, ");
        insert.value(ts_epoch).sql(", v.tags::jsonb, v.system_tags::jsonb, k.run_id, k.task_name");
        from_task_rows(insert, path, {&field_names, &values, &types, &users, &tags, &system_tags},
                       "field_name, value, type, user_name, tags, system_tags");
        auto inserted = co_await insert_below_task(task_lookup(path), std::move(insert));
        if (!inserted) co_return inserted.take_error();
        if (watched()) {
            std::vector<RowChange> changes;
            for (const auto& record : records) {
                changes.push_back(below_task(RowChange{.table = RowChange::Table::metadata,
                                                       .field_name = record.field_name,
                                                       .value = record.value,
                                                       .tags = tag_strings(record.tags)},
                                             path, *inserted));
            }
            tell(std::move(changes));
        }
        co_return inserted->rows.affected();
    }

    Async<std::vector<Metadata>> list_task_metadata(TaskPath path,
                                                    std::optional<Paging> paging) override {
        Query query("SELECT ");
        query.sql(pg::kMetadataColumns);
        pg::from_task(query, path, pg::kTaskMetadata);
        return list(std::move(metadata_page(query, paging)), pg::metadata_row);
    }

    Async<std::vector<Metadata>> list_run_metadata(RunPath path,
                                                   std::optional<Paging> paging) override {
        Query query("SELECT ");
        query.sql(pg::kMetadataColumns);
        pg::from_run(query,
                     " JOIN metadata_v3 m ON m.flow_id = r.flow_id AND m.run_number = "
                     "r.run_number",
                     path.flow_id, path.run)
            .sql(" AND ");
        pg::run_key(query, "m", path.flow_id, path.run).sql(pg::kListedMetadata);
        return list(std::move(metadata_page(query, paging)), pg::metadata_row);
    }

    Async<std::int64_t> add_artifacts(TaskPath path, std::vector<NewArtifact> artifacts,
                                      std::int64_t ts_epoch) override {
        Columns names, locations, ds_types, shas, types, content_types, users, attempts, tags,
            system_tags;
        for (const auto& artifact : artifacts) {
            names.push_back(artifact.name);
            locations.push_back(artifact.location);
            ds_types.push_back(artifact.ds_type);
            shas.push_back(artifact.sha);
            types.push_back(artifact.type);
            content_types.push_back(artifact.content_type);
            users.push_back(artifact.user_name);
            attempts.push_back(std::to_string(artifact.attempt_id));
            tags.push_back(pg::json_value(artifact.tags));
            system_tags.push_back(pg::json_value(artifact.system_tags));
        }
        Query insert(
            "INSERT INTO artifact_v3 (flow_id, run_number, step_name, task_id, name, location, "
            "ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, "
            "system_tags, run_id, task_name) SELECT k.flow_id, k.run_number, k.step_name, "
            "k.task_id, v.name, v.location, v.ds_type, v.sha, v.type, v.content_type, "
            "v.user_name, v.attempt_id::smallint, ");
        insert.value(ts_epoch).sql(", v.tags::jsonb, v.system_tags::jsonb, k.run_id, k.task_name");
        from_task_rows(insert, path,
                       {&names, &locations, &ds_types, &shas, &types, &content_types, &users,
                        &attempts, &tags, &system_tags},
                       "name, location, ds_type, sha, type, content_type, user_name, attempt_id, "
                       "tags, system_tags");
        // An artifact already stored for this attempt is kept as it is and not counted, nor
        // told of.
        insert.sql(" ON CONFLICT DO NOTHING RETURNING name, attempt_id");
        auto inserted = co_await insert_below_task(task_lookup(path), std::move(insert));
        if (!inserted) co_return inserted.take_error();
        if (watched()) {
            std::vector<RowChange> changes;
            const Rows& rows = inserted->rows;
            for (int row = 0; row < rows.size(); ++row) {
                changes.push_back(below_task(RowChange{.table = RowChange::Table::artifacts,
                                                       .attempt_id = rows.int64(row, 1),
                                                       .name = rows.text(row, 0)},
                                             path, *inserted));
            }
            tell(std::move(changes));
        }
        co_return inserted->rows.affected();
    }

    Async<Artifact> get_artifact(TaskPath path, std::string name,
                                 std::optional<std::int32_t> attempt) override {
        Query query("SELECT ");
        query.sql(pg::kArtifactColumns);
        pg::from_task(query, path, pg::kTaskArtifacts);
        query.sql(" AND a.name = ").value(name).sql(" AND a.attempt_id = ");
        if (attempt) {
            query.value(std::int64_t{*attempt});
        } else {
            // The latest attempt is the one of the task's highest-attempt artifact literally
            // named "name", which Metaflow writes on every attempt (docs/api.md#artifacts).
            query.sql("coalesce((SELECT max(b.attempt_id) FROM artifact_v3 b WHERE ");
            pg::task_key(query, "b", path).sql(" AND b.name = 'name'), 0)");
        }
        return single(std::move(query), pg::artifact_row);
    }

    Async<std::vector<Artifact>> list_artifacts(ArtifactScope scope,
                                                std::optional<Paging> paging) override {
        if (scope.task && !scope.step_name) {
            co_return Error::invalid("a task scope needs its step");
        }
        Query query("SELECT ");
        query.sql(pg::kArtifactColumns);
        std::optional<TaskPath> task;
        if (scope.task) task = TaskPath{scope.flow_id, scope.run, *scope.step_name, *scope.task};
        if (task) {
            pg::from_task(query, *task, pg::kTaskArtifacts);
        } else {
            pg::from_run(query,
                         " JOIN artifact_v3 a ON a.flow_id = r.flow_id AND a.run_number = "
                         "r.run_number",
                         scope.flow_id, scope.run)
                .sql(" AND ");
            pg::run_key(query, "a", scope.flow_id, scope.run).sql(pg::kListedArtifact);
            if (scope.step_name) query.sql(" AND a.step_name = ").value(*scope.step_name);
        }
        if (paging && !paging->legacy_rows) {
            // The newest row per (task, name), whatever its attempt.
            query.sql(
                " AND a.attempt_id = (SELECT b.attempt_id FROM artifact_v3 b WHERE b.flow_id = "
                "a.flow_id AND b.run_number = a.run_number AND b.task_id = a.task_id AND "
                "b.name = a.name ORDER BY b.ts_epoch DESC, b.attempt_id DESC LIMIT 1)");
        } else if (task) {
            // Only the rows of the task's highest attempt among its artifacts, found once.
            query.sql(" AND a.attempt_id = (SELECT max(b.attempt_id) FROM artifact_v3 b WHERE ");
            pg::task_key(query, "b", *task).sql(")");
        } else {
            // Only the rows of each task's highest attempt among its artifacts, looked up per
            // row: the task's key is the primary key's prefix and attempt_id its next column,
            // so the max() is the first entry of a backward seek. (A NOT EXISTS of a higher
            // attempt can instead walk the task's entries of another index, or the run's.)
            query.sql(
                " AND a.attempt_id = (SELECT max(b.attempt_id) FROM artifact_v3 b WHERE "
                "b.flow_id = a.flow_id AND b.run_number = a.run_number AND b.step_name = "
                "a.step_name AND b.task_id = a.task_id)");
        }
        if (paging && paging->after) {
            query.sql(" AND (a.ts_epoch, a.task_id, a.name) < (");
            query.value(paging->after->ts_epoch).sql(", ").value(paging->after->id);
            query.sql(", ").value(paging->after->name).sql(")");
        }
        query.sql(kArtifactOrder);
        co_return co_await list(std::move(pg::limit(query, paging)), pg::artifact_row);
    }

    Async<std::vector<Artifact>> list_attempt_artifacts(TaskPath path,
                                                        std::int32_t attempt) override {
        Query query("SELECT ");
        query.sql(pg::kArtifactColumns);
        pg::from_task(query, path, pg::kTaskArtifacts);
        query.sql(" AND a.attempt_id = ").value(std::int64_t{attempt}).sql(kArtifactOrder);
        return list(std::move(query), pg::artifact_row);
    }

private:
    static pg::PoolOptions pool_options(const PostgresOptions& options, const std::string& conninfo,
                                        std::shared_ptr<pg::OwnBackends> own_backends) {
        return pg::PoolOptions{conninfo,        options.pool_min,          options.pool_max,
                               options.timeout, options.statement_timeout, std::move(own_backends)};
    }

    // Where the store tells its own commits: none before watch_changes, nor behind a pooler,
    // where the change feed hears them instead.
    std::shared_ptr<const ChangeSink> own_changes_sink() {
        if (own_backends_->behind_pooler()) return nullptr;
        std::lock_guard lock(sink_mutex_);
        return sink_;
    }

    bool watched() { return own_changes_sink() != nullptr; }

    // Tells the sink of changes the store committed, in the order they were written.
    void tell(std::vector<RowChange> changes) {
        const auto sink = own_changes_sink();
        if (!sink) return;
        for (auto& change : changes) (*sink)(std::move(change));
    }

    void tell(RowChange change) {
        std::vector<RowChange> changes;
        changes.push_back(std::move(change));
        tell(std::move(changes));
    }

    // An update of the run whose number is the first column of `updated`'s first row.
    static RowChange run_update(const std::string& flow_id, const Rows& updated) {
        return RowChange{.table = RowChange::Table::runs,
                         .operation = RowChange::Operation::update,
                         .flow_id = flow_id,
                         .run_number = updated.int64(0, 0)};
    }

    static asio::awaitable<void> fill(pg::Pool& pool) {
        auto filled = co_await pool.fill();
        if (!filled)
            spdlog::warn("cannot open the pool's first connections: {}", filled.error().message);
    }

    bool schema_ready() const { return !schema_ || schema_->ready(); }

    pg::PoolSet& readers() { return readers_ ? *readers_ : writers_; }

    pg::Clock::time_point deadline() const { return pg::Clock::now() + timeout_; }

    // Ends the transaction open on the connection, if it can still be used.
    asio::awaitable<void> roll_back(pg::Connection& connection) {
        if (connection.broken()) co_return;
        std::vector<Query> rollback{Query("ROLLBACK")};
        co_await connection.run(rollback, deadline());
    }

    void count_failure(const pg::Outcome& outcome) {
        const auto* failure = std::get_if<pg::ServerError>(&outcome);
        if (!failure) return;
        const auto kind = pg::failure_kind(*failure);
        if (!kind) return;
        switch (*kind) {
            case pg::FailureKind::unavailable:
                ++unavailable_errors_;
                break;
            case pg::FailureKind::timeout:
                ++timeout_errors_;
                break;
            case pg::FailureKind::other:
                ++other_errors_;
                break;
        }
    }

    asio::awaitable<Result<pg::Pool::Lease>> acquire(pg::PoolSet& pools) {
        if (!schema_ready()) co_return Error::unavailable("the database is not ready");
        auto executor = co_await asio::this_coro::executor;
        co_return co_await pools.pool_for(executor).acquire();
    }

    // Runs the queries as one pipeline on a connection of the caller's event loop.
    asio::awaitable<pg::Outcome> run_queries(pg::PoolSet& pools,
                                             const std::vector<Query>& queries) {
        notify_observer(queries);
        auto lease = co_await acquire(pools);
        pg::Outcome outcome;
        if (lease) {
            outcome = co_await (*lease)->run(queries, deadline());
        } else {
            outcome = pg::ServerError{"", lease.error().message, ""};
        }
        count_failure(outcome);
        co_return outcome;
    }

    // Runs the queries with those of the loop's other requests that gather the same way:
    // reads in one pipeline (pg::Pool::read) when `write_lock_order` is nothing, writes in one
    // transaction (pg::Pool::write) otherwise.
    asio::awaitable<pg::Outcome> batched_queries(pg::PoolSet& pools,
                                                 const std::vector<Query>& queries,
                                                 std::optional<std::string> write_lock_order) {
        notify_observer(queries);
        pg::Outcome outcome;
        if (schema_ready()) {
            auto executor = co_await asio::this_coro::executor;
            auto& pool = pools.pool_for(executor);
            if (write_lock_order) {
                outcome = co_await pool.write(queries, std::move(*write_lock_order));
                settle_statistics_now_and_then(executor);
            } else {
                outcome = co_await pool.read(queries);
            }
        } else {
            outcome = pg::ServerError{"", "the database is not ready", ""};
        }
        count_failure(outcome);
        co_return outcome;
    }

    // Without statistics PostgreSQL takes every index for one row, and on a young database
    // chose for one task's artifacts an index that walks its step's artifacts of every run.
    // One ANALYZE of a table once it holds a few thousand rows keeps its plans on the key as
    // it grows (older statistics do not mislead it, only none do); autovacuum keeps them
    // after that. So every so many writes, until no table of the store lacks statistics,
    // this analyzes those big enough.
    void settle_statistics_now_and_then(const asio::any_io_executor& executor) {
        constexpr std::uint64_t kWritesPerCheck = 256;
        if (first_analyze_rows_ == 0 || statistics_settled_.load(std::memory_order_relaxed)) return;
        if (++writes_since_statistics_check_ % kWritesPerCheck != 0) return;
        if (statistics_check_running_.exchange(true)) return;
        asio::co_spawn(executor, settle_statistics(), asio::detached);
    }

    asio::awaitable<void> settle_statistics() {
        Query never_analyzed("SELECT relname, n_live_tup >= ");
        never_analyzed.value(first_analyze_rows_);
        never_analyzed.sql(
            " FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname IN "
            "('flows_v3', 'runs_v3', 'steps_v3', 'tasks_v3', 'metadata_v3', 'artifact_v3') AND "
            "last_analyze IS NULL AND last_autoanalyze IS NULL");
        const std::vector<Query> check{std::move(never_analyzed)};
        auto found = checked(co_await run_queries(writers_, check));
        if (found) {
            const Rows& tables = found->front();
            if (tables.empty()) statistics_settled_ = true;
            for (int row = 0; row < tables.size(); ++row) {
                // The name is one of the store's own tables, listed above. A table analyzed
                // once and still without statistics is one this role may not analyze
                // (PostgreSQL skips it with a warning): autovacuum's analyze will do.
                const auto table = tables.text(row, 0);
                if (!tables.boolean(row, 1) || !tables_analyzed_.insert(table).second) continue;
                const std::vector<Query> analyze{Query("ANALYZE " + table)};
                auto analyzed = co_await run_queries(writers_, analyze);
                if (auto* failure = std::get_if<pg::ServerError>(&analyzed)) {
                    spdlog::warn("cannot analyze {}: {}", table, failure->message);
                } else {
                    spdlog::info("analyzed {}, which had no statistics yet", table);
                }
            }
        }
        statistics_check_running_ = false;
    }

    // Reads share a pipeline with the other reads of the loop's turn.
    asio::awaitable<pg::Outcome> read_queries(const std::vector<Query>& queries) {
        return batched_queries(readers(), queries, std::nullopt);
    }

    // The same on the writer, for what a replica may not have yet.
    asio::awaitable<pg::Outcome> read_on_writer(const std::vector<Query>& queries) {
        return batched_queries(writers_, queries, std::nullopt);
    }

    // Creates and heartbeats share a transaction with the other writes of the loop's turn;
    // `lock_order` names the rows a write updates, so that two batches update them in the
    // same order. Flows do not: their create fails by design when the flow exists (the client
    // creates it at each run's start), and a failure makes the other members of its batch
    // run again.
    asio::awaitable<pg::Outcome> write_queries(const std::vector<Query>& queries,
                                               std::string lock_order = {}) {
        return batched_queries(writers_, queries, std::move(lock_order));
    }

    template <class T>
    Async<T> single(Query query, T (*read_row)(const Rows&, int)) {
        std::vector<Query> queries{std::move(query)};
        auto rows = checked(co_await read_queries(queries));
        if (!rows) co_return rows.take_error();
        if (rows->front().empty()) co_return Error::not_found();
        co_return read_row(rows->front(), 0);
    }

    template <class T>
    Async<std::vector<T>> list(Query query, T (*read_row)(const Rows&, int)) {
        std::vector<Query> queries{std::move(query)};
        auto rows = checked(co_await read_queries(queries));
        if (!rows) co_return rows.take_error();
        co_return collect(rows->front(), read_row);
    }

    static Query& metadata_page(Query& query, const std::optional<Paging>& paging) {
        if (paging && paging->after) {
            query.sql(" AND (m.ts_epoch, m.id) < (").value(paging->after->ts_epoch).sql(", ");
            query.value(paging->after->id).sql(")");
        }
        query.sql(" ORDER BY m.ts_epoch DESC, m.id DESC");
        return pg::limit(query, paging);
    }

    // The path's task: its id and its run's number, or no row.
    static Query task_lookup(const TaskPath& path) {
        Query query("SELECT t.task_id, t.run_number");
        pg::from_task(query, path);
        return query;
    }

    // The lock order (pg::Pool::write) of a write that updates the row of the run the path
    // names, and then that of its task when `task` is given. The numbers are the path's, or
    // known_numbers_', or else looked up on the writer (one read, beside the loop's other
    // reads; a replica may not have the row yet). A run or a task that does not exist has no
    // row to lock: a missing run orders as a write that only inserts, a missing task as its
    // run.
    asio::awaitable<std::string> lock_order(const std::string& flow_id, const ObjectKey& run,
                                            const TaskPath* task) {
        std::optional<std::int64_t> run_number;
        if (run.is_number()) {
            run_number = run.as_number();
        } else {
            run_number = known_numbers_.run_number(flow_id, run.as_name());
        }
        std::optional<std::int64_t> task_id;
        if (task && task->task.is_number()) {
            task_id = task->task.as_number();
        } else if (task && run_number) {
            task_id =
                known_numbers_.task_id(flow_id, *run_number, task->step_name, task->task.as_name());
        }
        const bool find_task = task && !task_id;
        const bool find_run = !run_number;
        if (find_task || find_run) {
            std::vector<Query> lookups;
            if (find_task) lookups.push_back(task_lookup(*task));
            if (find_run) {
                Query run_lookup("SELECT r.run_number");
                pg::from_run(run_lookup, "", flow_id, run);
                lookups.push_back(std::move(run_lookup));
            }
            // A failed lookup leaves the order to what is known: the write fails the same way.
            if (auto found = checked(co_await read_on_writer(lookups))) {
                if (find_task && !found->front().empty()) {
                    task_id = found->front().int64(0, 0);
                    run_number = found->front().int64(0, 1);
                    known_numbers_.add_task(flow_id, *run_number, task->step_name,
                                            task->task.as_name(), *task_id);
                }
                if (find_run && !found->back().empty()) run_number = found->back().int64(0, 0);
                if (find_run && run_number)
                    known_numbers_.add_run(flow_id, run.as_name(), *run_number);
            }
        }
        if (!run_number) co_return std::string();
        if (!task_id) co_return pg::run_lock_order(flow_id, *run_number);
        co_return pg::task_lock_order(flow_id, *run_number, *task_id);
    }

    // The values of one column of the rows a request inserts.
    using Columns = std::vector<std::optional<std::string>>;

    // " FROM (<the path's task k, with its run's run_id>) k CROSS JOIN unnest(<columns>) v":
    // the rows to insert below the task, one per element of the columns, in their order;
    // `names` names the columns of v.
    static Query& from_task_rows(Query& query, const TaskPath& path,
                                 std::initializer_list<const Columns*> columns,
                                 std::string_view names) {
        query.sql(
            " FROM (SELECT t.flow_id, t.run_number, t.step_name, t.task_id, t.task_name, "
            "r.run_id");
        pg::from_task(query, path).sql(") k CROSS JOIN unnest(");
        const char* separator = "";
        for (const Columns* column : columns) {
            query.sql(separator).values(*column);
            separator = ", ";
        }
        return query.sql(") WITH ORDINALITY AS v(").sql(names).sql(", n) ORDER BY v.n");
    }

    // What an insert below a task wrote: its task's numbers, and the insert's rows.
    struct InsertedBelowTask {
        std::int64_t task_id;
        std::int64_t run_number;
        Rows rows;
    };

    // Runs a task lookup (task_lookup) and an insert that selects its task the same way, in
    // one transaction.
    Async<InsertedBelowTask> insert_below_task(Query lookup, Query insert) {
        std::vector<Query> queries{std::move(lookup), std::move(insert)};
        auto rows = checked(co_await write_queries(queries));
        if (!rows) co_return rows.take_error();
        const Rows& task = rows->front();
        if (task.empty()) co_return Error::register_first();
        co_return InsertedBelowTask{task.int64(0, 0), task.int64(0, 1), std::move((*rows)[1])};
    }

    // A change of a row below the path's task, with the task's keys.
    static RowChange below_task(RowChange change, const TaskPath& path,
                                const InsertedBelowTask& inserted) {
        change.flow_id = path.flow_id;
        change.run_number = inserted.run_number;
        change.step_name = path.step_name;
        change.task_id = inserted.task_id;
        return change;
    }

    const std::string conninfo_;
    const std::string trigger_schema_;
    const std::chrono::seconds timeout_;
    SystemClock system_clock_;
    const Clock* clock_;
    const std::int64_t first_analyze_rows_;
    const std::shared_ptr<const pg::SchemaPreparation> schema_;
    // Before the pools, whose connections count themselves in it until they close.
    const std::shared_ptr<pg::OwnBackends> own_backends_;
    pg::PoolSet writers_;
    std::unique_ptr<pg::PoolSet> readers_;
    pg::KnownNumbers known_numbers_;
    std::mutex sink_mutex_;
    std::shared_ptr<const ChangeSink> sink_;
    std::unique_ptr<pg::ChangeFeed> feed_;
    std::atomic<std::uint64_t> unavailable_errors_{0};
    std::atomic<std::uint64_t> timeout_errors_{0};
    std::atomic<std::uint64_t> other_errors_{0};
    std::atomic<bool> statistics_settled_{false};
    std::atomic<bool> statistics_check_running_{false};
    std::atomic<std::uint64_t> writes_since_statistics_check_{0};
    std::set<std::string> tables_analyzed_;  // by settle_statistics, one at a time
};

Async<MutatedTags> PostgresStore::mutate_run_tags(RunPath path, TagMutation mutation) {
    // Read, decide and write in one SERIALIZABLE transaction (docs/api.md#tag-mutation): of two
    // concurrent mutations of a run, one fails with 40001 and its client retries.
    auto lease = co_await acquire(writers_);
    if (!lease) co_return lease.take_error();
    pg::Connection& connection = **lease;
    Query select("SELECT r.run_number, r.tags, r.system_tags");
    pg::from_run(select, "", path.flow_id, path.run);
    std::vector<Query> reading{Query("BEGIN ISOLATION LEVEL SERIALIZABLE"), std::move(select)};
    auto read = co_await connection.run(reading, deadline());
    count_failure(read);
    if (auto* failure = std::get_if<pg::ServerError>(&read)) {
        co_await roll_back(connection);
        co_return tag_mutation_error(*failure);
    }
    const Rows& run = std::get<std::vector<Rows>>(read)[1];
    if (run.empty()) {
        co_await roll_back(connection);
        co_return Error::not_found();
    }
    auto mutated = mutate_tags(run.optional_text(0, 1).value_or(kJsonNull),
                               run.optional_text(0, 2).value_or(kJsonNull), mutation);
    std::vector<Query> writing;
    if (mutated && mutated->changed) {
        Query update("UPDATE runs_v3 SET tags = ");
        update.value(mutated->tags).sql("::jsonb WHERE flow_id = ").value(path.flow_id);
        update.sql(" AND run_number = ").value(run.int64(0, 0));
        writing.push_back(std::move(update));
    }
    writing.emplace_back("COMMIT");
    auto written = co_await connection.run(writing, deadline());
    count_failure(written);
    if (auto* failure = std::get_if<pg::ServerError>(&written)) {
        co_await roll_back(connection);
        co_return tag_mutation_error(*failure);
    }
    if (mutated && mutated->changed) tell(run_update(path.flow_id, run));
    co_return mutated;
}

}  // namespace

std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options) {
    return std::make_unique<PostgresStore>(options);
}

void pg::set_query_observer(QueryObserver observer) {
    std::lock_guard lock(observer_mutex);
    observer_set.store(static_cast<bool>(observer));
    query_observer = std::move(observer);
}

}  // namespace mf
