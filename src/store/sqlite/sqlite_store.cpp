#include "store/sqlite/sqlite_store.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "store/change_tags.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/sqlite/sqlite_operations.hpp"
#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_writer.hpp"

namespace mf {
namespace {

using sqlite::Connection;
using sqlite::SqliteError;

// Idle read connections kept for reuse; more are opened when more threads read at once.
constexpr std::size_t kMaxIdleReaders = 8;

// Read-only connections, opened on demand and handed to one thread at a time. A read runs on
// the thread that asks for it, so that it never waits for a thread hop.
class ReadPool {
public:
    ReadPool(std::string path, int busy_timeout_ms)
        : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

    std::unique_ptr<Connection> acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto connection = std::move(idle_.back());
                idle_.pop_back();
                return connection;
            }
        }
        return std::make_unique<Connection>(path_, Connection::Access::read_only, busy_timeout_ms_);
    }

    void release(std::unique_ptr<Connection> connection) {
        std::lock_guard lock(mutex_);
        if (idle_.size() < kMaxIdleReaders) idle_.push_back(std::move(connection));
    }

    void close_idle() {
        std::lock_guard lock(mutex_);
        idle_.clear();
    }

private:
    const std::string path_;
    const int busy_timeout_ms_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
};

std::unique_ptr<Connection> open_writer_connection(const SqliteOptions& options) {
    auto db = std::make_unique<Connection>(options.path, Connection::Access::read_write,
                                           options.busy_timeout_ms);
    // WAL lets the readers go on while the writer commits. The mode is kept in the file.
    {
        sqlite::Statement mode = db->prepare("PRAGMA journal_mode = WAL");
        if (!mode.step() || mode.text(0) != "wal")
            throw std::runtime_error("the database cannot use write-ahead logging");
    }
    db->execute_script(options.synchronous_full ? "PRAGMA synchronous = FULL"
                                                : "PRAGMA synchronous = NORMAL");
    sqlite::migrate(*db);
    return db;
}

class SqliteStore final : public Store, public UiReader {
public:
    SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer_connection)
        : readers_(options.path, options.busy_timeout_ms),
          clock_(options.clock ? options.clock : &system_clock_),
          writer_(std::move(writer_connection)) {}

    // The connection that closes last checkpoints the write-ahead log and removes the -wal and
    // -shm files, but only a writable one can: so the readers close first.
    ~SqliteStore() override { readers_.close_idle(); }

    Async<Ok> check_health() override {
        // Through the writer, so that a stuck writer or a locked file shows as unhealthy.
        return writer_.submit<Ok>([](Connection& db) { return sqlite::ping(db); });
    }

    UiReader& ui_reader() override { return *this; }

    void watch_changes(ChangeSink sink) override {
        std::lock_guard lock(sink_mutex_);
        sink_ = std::make_shared<const ChangeSink>(std::move(sink));
    }

    Async<std::vector<UiRow>> ui_list(UiListQuery query) override {
        co_return read<std::vector<UiRow>>(
            [&](Connection& db) { return sqlite::read_ui_list(db, query); });
    }

    Async<std::vector<std::string>> ui_run_tags() override {
        co_return read<std::vector<std::string>>(
            [](Connection& db) { return sqlite::read_ui_run_tags(db); });
    }

    Async<Flow> create_flow(NewFlow flow) override {
        return told(
            writer_.submit<Flow>(
                [flow = std::move(flow)](Connection& db) { return sqlite::insert_flow(db, flow); }),
            [](const Flow& created) {
                return RowChange{.table = RowChange::Table::flows, .flow_id = created.flow_id};
            });
    }

    Async<Flow> get_flow(std::string flow_id) override {
        co_return read<Flow>([&](Connection& db) { return sqlite::read_flow(db, flow_id); });
    }

    Async<std::vector<Flow>> list_flows(std::optional<Paging> paging) override {
        co_return read<std::vector<Flow>>(
            [&](Connection& db) { return sqlite::read_flows(db, paging); });
    }

    Async<Run> create_run(NewRun run) override {
        return told(writer_.submit<Run>([run = std::move(run)](Connection& db) {
            return sqlite::insert_run(db, run);
        }),
                    [](const Run& created) {
                        return RowChange{.table = RowChange::Table::runs,
                                         .flow_id = created.flow_id,
                                         .run_number = created.run_number};
                    });
    }

    Async<Run> get_run(RunPath path) override {
        co_return read<Run>([&](Connection& db) { return sqlite::read_run(db, path); });
    }

    Async<std::vector<Run>> list_runs(std::string flow_id, RunQuery query) override {
        const std::int64_t now_s = clock_->now_s();
        co_return read<std::vector<Run>>(
            [&](Connection& db) { return sqlite::read_runs(db, flow_id, query, now_s); });
    }

    Async<bool> heartbeat_run(RunPath path, std::int64_t now_s) override {
        return writer_.submit<bool>([path = std::move(path), now_s](Connection& db) {
            return sqlite::update_run_heartbeat(db, path, now_s);
        });
    }

    Async<MutatedTags> mutate_run_tags(RunPath path, TagMutation mutation) override {
        return writer_.submit<MutatedTags>(
            [path = std::move(path), mutation = std::move(mutation)](Connection& db) {
                return sqlite::update_run_tags(db, path, mutation);
            });
    }

    Async<Step> create_step(StepPath path, NewStep step) override {
        return told(
            writer_.submit<Step>([path = std::move(path), step = std::move(step)](Connection& db) {
                return sqlite::insert_step(db, path, step);
            }),
            [](const Step& created) {
                return RowChange{.table = RowChange::Table::steps,
                                 .flow_id = created.flow_id,
                                 .run_number = created.run_number,
                                 .step_name = created.step_name};
            });
    }

    Async<Step> get_step(StepPath path) override {
        co_return read<Step>([&](Connection& db) { return sqlite::read_step(db, path); });
    }

    Async<std::vector<Step>> list_steps(RunPath path) override {
        co_return read<std::vector<Step>>(
            [&](Connection& db) { return sqlite::read_steps(db, path); });
    }

    Async<Task> create_task(StepPath path, NewTask task) override {
        return told(
            writer_.submit<Task>([path = std::move(path), task = std::move(task)](Connection& db) {
                return sqlite::insert_task(db, path, task);
            }),
            [](const Task& created) { return task_change(RowChange::Table::tasks, created); });
    }

    Async<Task> get_task(TaskPath path) override {
        co_return read<Task>([&](Connection& db) { return sqlite::read_task(db, path); });
    }

    Async<std::vector<Task>> list_tasks(StepPath path, TaskQuery query) override {
        co_return read<std::vector<Task>>(
            [&](Connection& db) { return sqlite::read_tasks(db, path, query); });
    }

    Async<std::vector<Task>> find_tasks_by_metadata(StepPath path,
                                                    TaskPatternQuery query) override {
        co_return read<std::vector<Task>>(
            [&](Connection& db) { return sqlite::read_tasks_by_metadata(db, path, query); });
    }

    Async<bool> heartbeat_task(TaskPath path, std::int64_t now_s) override {
        return writer_.submit<bool>([path = std::move(path), now_s](Connection& db) {
            return sqlite::update_task_heartbeat(db, path, now_s);
        });
    }

    Async<std::int64_t> add_metadata(TaskPath path, std::vector<NewMetadata> records,
                                     std::int64_t ts_epoch) override {
        std::vector<RowChange> changes;
        for (const auto& record : records) {
            changes.push_back(RowChange{.table = RowChange::Table::metadata,
                                        .field_name = record.field_name,
                                        .value = record.value,
                                        .tags = tag_strings(record.tags)});
        }
        auto write = writer_.submit<std::int64_t>(
            [path, records = std::move(records), ts_epoch](Connection& db) {
                return sqlite::insert_metadata(db, path, records, ts_epoch);
            });
        return told_of_task(std::move(write), std::move(path), std::move(changes));
    }

    Async<std::vector<Metadata>> list_task_metadata(TaskPath path,
                                                    std::optional<Paging> paging) override {
        co_return read<std::vector<Metadata>>(
            [&](Connection& db) { return sqlite::read_task_metadata(db, path, paging); });
    }

    Async<std::vector<Metadata>> list_run_metadata(RunPath path,
                                                   std::optional<Paging> paging) override {
        co_return read<std::vector<Metadata>>(
            [&](Connection& db) { return sqlite::read_run_metadata(db, path, paging); });
    }

    Async<std::int64_t> add_artifacts(TaskPath path, std::vector<NewArtifact> artifacts,
                                      std::int64_t ts_epoch) override {
        std::vector<RowChange> changes;
        for (const auto& artifact : artifacts) {
            changes.push_back(RowChange{.table = RowChange::Table::artifacts,
                                        .attempt_id = artifact.attempt_id,
                                        .name = artifact.name});
        }
        auto write = writer_.submit<std::int64_t>(
            [path, artifacts = std::move(artifacts), ts_epoch](Connection& db) {
                return sqlite::insert_artifacts(db, path, artifacts, ts_epoch);
            });
        return told_of_task(std::move(write), std::move(path), std::move(changes));
    }

    Async<Artifact> get_artifact(TaskPath path, std::string name,
                                 std::optional<std::int32_t> attempt) override {
        co_return read<Artifact>(
            [&](Connection& db) { return sqlite::read_artifact(db, path, name, attempt); });
    }

    Async<std::vector<Artifact>> list_artifacts(ArtifactScope scope,
                                                std::optional<Paging> paging) override {
        co_return read<std::vector<Artifact>>(
            [&](Connection& db) { return sqlite::read_artifacts(db, scope, paging); });
    }

    Async<std::vector<Artifact>> list_attempt_artifacts(TaskPath path,
                                                        std::int32_t attempt) override {
        co_return read<std::vector<Artifact>>(
            [&](Connection& db) { return sqlite::read_attempt_artifacts(db, path, attempt); });
    }

private:
    bool watched() {
        std::lock_guard lock(sink_mutex_);
        return sink_ != nullptr;
    }

    void tell(RowChange change) {
        std::shared_ptr<const ChangeSink> sink;
        {
            std::lock_guard lock(sink_mutex_);
            sink = sink_;
        }
        if (sink) (*sink)(std::move(change));
    }

    static RowChange task_change(RowChange::Table table, const Task& task) {
        return RowChange{.table = table,
                         .flow_id = task.flow_id,
                         .run_number = task.run_number,
                         .step_name = task.step_name,
                         .task_id = task.task_id};
    }

    // Awaits a write, then tells the sink what it created. The write is made by the caller,
    // outside any coroutine: GCC 12 frees a lambda's moved captures twice when the lambda is
    // made inside one.
    template <class T, class Describe>
    Async<T> told(Async<T> write, Describe describe) {
        auto created = co_await std::move(write);
        if (created) tell(describe(*created));
        co_return created;
    }

    // Awaits a write of rows of a task, then tells the sink of `changes`, with the task's keys.
    Async<std::int64_t> told_of_task(Async<std::int64_t> write, TaskPath path,
                                     std::vector<RowChange> changes) {
        auto added = co_await std::move(write);
        if (!added || *added == 0 || !watched()) co_return added;
        auto task = co_await task_of(path);
        if (!task) co_return added;
        for (auto& change : changes) {
            change.flow_id = task->flow_id;
            change.run_number = task->run_number;
            change.step_name = task->step_name;
            change.task_id = task->task_id;
            tell(std::move(change));
        }
        co_return added;
    }

    // The task a write named, with its numbers (the path may name run and task by id).
    boost::asio::awaitable<std::optional<Task>> task_of(const TaskPath& path) {
        if (path.run.is_number() && path.task.is_number()) {
            co_return Task{.flow_id = path.flow_id,
                           .run_number = path.run.as_number(),
                           .step_name = path.step_name,
                           .task_id = path.task.as_number()};
        }
        auto task = co_await get_task(path);
        if (!task) co_return std::nullopt;
        co_return std::move(task).value();
    }

    template <class T, class Query>
    Result<T> read(Query query) {
        std::unique_ptr<Connection> db;
        try {
            db = readers_.acquire();
            Result<T> result = query(*db);
            readers_.release(std::move(db));
            return result;
        } catch (const SqliteError& e) {
            // The connection is dropped rather than pooled: after an I/O error it may be broken.
            return sqlite::to_error(e);
        } catch (const std::exception& e) {
            return Error::internal(e.what());
        }
    }

    ReadPool readers_;
    std::mutex sink_mutex_;
    std::shared_ptr<const ChangeSink> sink_;
    SystemClock system_clock_;
    const Clock* clock_;
    // Last, so that its thread stops (finishing what is queued) before the rest goes away.
    sqlite::Writer writer_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options) {
    try {
        return std::make_unique<SqliteStore>(options, open_writer_connection(options));
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot open SQLite database '" + options.path + "': " + e.what());
    }
}

}  // namespace mf
