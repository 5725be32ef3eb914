// The plans of the PostgreSQL store's statements on the data a client is writing: rows newer
// than any statistics, as a run's rows always are while the run goes on. Every statement
// that serves one task or one object must seek its rows by their key whatever PostgreSQL
// estimates, and every page of a list must read about a page of rows. Checked from what the
// statements really read (EXPLAIN ANALYZE: rows per plan node, and buffers, which also count
// the index entries a node skips without returning them), not from their time: a plan that
// walks a step or a run fails however fast the machine is.
//
// One step of kTasks tasks, each with the client's metadata and artifacts, written through
// the store as the API writes them, with autovacuum off and no ANALYZE; then each statement
// of the reads and writes below, with the parameters the store sent, under the generic plan
// of its prepared statement, under a custom plan, and both again after ANALYZE.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_migrations.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/ui_reader.hpp"
#include "support/test_database.hpp"

namespace mf::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::int64_t kTasks = 5'000;
constexpr int kArtifactsPerTask = 10;
constexpr int kMetadataPerTask = 10;
// Every tenth task ran twice: its artifacts exist for attempts 0 and 1.
constexpr std::int64_t kRetriedEvery = 10;
// Earlier runs of the flow, each with one task: the planner's estimates then take a run for
// small, as they do in a database in use.
constexpr int kEarlierRuns = 500;
// Concurrent writers during the load: enough for the store to batch their writes.
constexpr int kWriters = 32;
// The rows a node of a plan may read for one task (at most 20 artifacts, 10 metadata) or one
// page of 50, with room to spare, and far below a step's or a run's.
constexpr std::int64_t kRowBound = 100;
// The buffers a statement may touch for one task (its rows' heap pages, the index seeks of
// its tables and subqueries: about 150 for a post of 10 metadata) or for one page of 50 (a
// few index seeks per row): a step's or a run's entries, even of an index alone, take
// thousands.
constexpr std::int64_t kBufferBound = 300;
constexpr std::int64_t kPageBufferBound = 600;
// filtered_tasks matches a pattern against the step's metadata of one field: it may read
// the step's tasks and metadata (a sequential scan, once the statistics say the step is most
// of the table), not a whole flow's.
constexpr std::int64_t kStepBound = (kMetadataPerTask + 2) * kTasks;
constexpr std::int64_t kStepBufferBound = 20'000;
// A page of the UI's timeline derives the attempts of its own tasks and of every retried task
// of the run (their records, a task's metadata at most), and walks the run's list-order index
// to the page's end: a tenth of the run's metadata here, not all of it.
constexpr std::int64_t kTimelineBound = (kTasks / kRetriedEvery) * (kMetadataPerTask + 2);

constexpr const char* kFlow = "PlanFlow";
constexpr const char* kRunName = "plan-run";
constexpr const char* kStep = "body";
constexpr const char* kSystemTags = R"(["runtime:dev", "user:plans", "metaflow_version:2.19"])";

const char* const kArtifactNames[kArtifactsPerTask] = {
    "name",           "_transition",   "_task_ok",   "_success", "_graph_info",
    "_foreach_stack", "_current_step", "_exception", "input",    "result"};

std::string task_name(std::int64_t index) {
    return "task-" + std::to_string(index);
}

// Runs one store operation to its end on `io`.
template <class T>
Result<T> outcome_of(asio::io_context& io, Async<T> operation) {
    std::optional<Result<T>> outcome;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { outcome.emplace(co_await std::move(operation)); },
        [](std::exception_ptr failure) {
            if (failure) std::rethrow_exception(failure);
        });
    io.restart();
    io.run();
    if (!outcome) throw std::runtime_error("the operation never completed");
    return std::move(*outcome);
}

// The same, for an operation that must succeed.
template <class T>
T finish(asio::io_context& io, Async<T> operation) {
    auto outcome = outcome_of(io, std::move(operation));
    if (!outcome) throw std::runtime_error(outcome.error().message);
    return std::move(outcome).value();
}

std::vector<NewArtifact> artifacts_of(std::int64_t index, std::int32_t attempt) {
    std::vector<NewArtifact> artifacts;
    for (int i = 0; i < kArtifactsPerTask; ++i) {
        artifacts.push_back(NewArtifact{
            .name = kArtifactNames[i],
            .location = "/ds/" + task_name(index) + "/" + kArtifactNames[i],
            .ds_type = "local",
            .sha = std::to_string(index * 100 + i),
            .type = "metaflow.artifact",
            .content_type = "pickle-v4",
            .user_name = "plans",
            .attempt_id = attempt,
            .system_tags = kSystemTags,
        });
    }
    return artifacts;
}

std::vector<NewMetadata> metadata_of(std::int64_t index) {
    std::vector<NewMetadata> records;
    for (int i = 0; i < kMetadataPerTask; ++i) {
        const std::string field = i == 0 ? "foreach-execution-path" : "field-" + std::to_string(i);
        records.push_back(NewMetadata{
            .field_name = field,
            .value = i == 0 ? std::string(kStep) + ":" + std::to_string(index) : "value",
            .type = field,
            .user_name = "plans",
            .tags = R"(["attempt_id:0"])",
            .system_tags = kSystemTags,
        });
    }
    return records;
}

// One writer of the load: the tasks index, index + kWriters, ... with their metadata and
// artifacts, each as the client posts them.
// Tasks of a run known by its number alone have no task_name, as the client creates them.
Async<Ok> write_tasks(Store& store, const ObjectKey& run, int first,
                      std::vector<std::int64_t>& task_ids) {
    const StepPath step{kFlow, run, kStep};
    // Arguments are named before each co_await: GCC 12 destroys a temporary built inside a
    // co_await expression twice.
    for (std::int64_t index = first; index < kTasks; index += kWriters) {
        NewTask new_task{
            .task_name = run.is_number() ? std::nullopt : std::optional(task_name(index)),
            .user_name = "plans",
            .system_tags = kSystemTags,
            .ts_epoch = 1'700'000'000'000 + index};
        auto task = co_await store.create_task(step, std::move(new_task));
        if (!task) co_return task.take_error();
        task_ids[index] = task->task_id;
        const TaskPath path{kFlow, run, kStep, ObjectKey::number(task->task_id)};
        auto records = metadata_of(index);
        auto metadata = co_await store.add_metadata(path, std::move(records), task->ts_epoch + 1);
        if (!metadata) co_return metadata.take_error();
        for (std::int32_t attempt = 0; attempt <= (index % kRetriedEvery == 0 ? 1 : 0); ++attempt) {
            auto attempt_artifacts = artifacts_of(index, attempt);
            auto artifacts = co_await store.add_artifacts(path, std::move(attempt_artifacts),
                                                          task->ts_epoch + 2 + attempt);
            if (!artifacts) co_return artifacts.take_error();
        }
    }
    co_return Ok{};
}

// What one node of a plan read: its own rows and those its filters dropped, over all loops.
// One writer of the earlier runs: run index, index + kWriters, ..., each with a task in
// "start" and its metadata and artifacts.
Async<Ok> write_earlier_runs(Store& store, int first) {
    for (int index = first; index < kEarlierRuns; index += kWriters) {
        NewRun new_run{.flow_id = kFlow, .user_name = "plans", .system_tags = kSystemTags};
        auto run = co_await store.create_run(std::move(new_run));
        if (!run) co_return run.take_error();
        const StepPath step{kFlow, ObjectKey::number(run->run_number), "start"};
        NewStep new_step{.user_name = "plans"};
        if (auto created = co_await store.create_step(step, std::move(new_step)); !created)
            co_return created.take_error();
        NewTask new_task{.user_name = "plans"};
        auto task = co_await store.create_task(step, std::move(new_task));
        if (!task) co_return task.take_error();
        const TaskPath path{kFlow, step.run, "start", ObjectKey::number(task->task_id)};
        auto records = metadata_of(index);
        if (auto added = co_await store.add_metadata(path, std::move(records), 1); !added)
            co_return added.take_error();
        auto artifacts = artifacts_of(index, 0);
        if (auto added = co_await store.add_artifacts(path, std::move(artifacts), 1); !added)
            co_return added.take_error();
    }
    co_return Ok{};
}

struct NodeRead {
    std::string node;
    std::int64_t rows = 0;
    std::int64_t buffers = 0;  // its own, without its children's
};

std::int64_t number(const json::object& node, std::string_view key) {
    const auto* value = node.if_contains(key);
    return value ? static_cast<std::int64_t>(value->to_number<double>()) : 0;
}

// The buffers a node touched, with its children's and its subplans' (EXPLAIN BUFFERS).
std::int64_t buffers_of(const json::object& node) {
    return number(node, "Shared Hit Blocks") + number(node, "Shared Read Blocks");
}

void collect_reads(const json::object& node, std::vector<NodeRead>& reads) {
    const std::int64_t per_loop =
        number(node, "Actual Rows") + number(node, "Rows Removed by Filter") +
        number(node, "Rows Removed by Index Recheck") + number(node, "Rows Removed by Join Filter");
    std::string name = json::value_to<std::string>(node.at("Node Type"));
    if (const auto* index = node.if_contains("Index Name"))
        name += " using " + json::value_to<std::string>(*index);
    if (const auto* relation = node.if_contains("Relation Name"))
        name += " on " + json::value_to<std::string>(*relation);
    std::int64_t own_buffers = buffers_of(node);
    const auto* children = node.if_contains("Plans");
    if (children) {
        for (const auto& child : children->as_array()) own_buffers -= buffers_of(child.as_object());
    }
    reads.push_back(NodeRead{
        name, per_loop * std::max<std::int64_t>(1, number(node, "Actual Loops")), own_buffers});
    if (children) {
        for (const auto& child : children->as_array()) collect_reads(child.as_object(), reads);
    }
}

std::string literal(pg::BlockingConnection& db, const std::optional<std::string>& value) {
    if (!value) return "NULL";
    char* quoted = PQescapeLiteral(db.native(), value->c_str(), value->size());
    std::string text(quoted);
    PQfreemem(quoted);
    return text;
}

// Prepares the statement as the store does: the same text, the same parameter types.
void prepare_probe(pg::BlockingConnection& db, const pg::Query& statement) {
    std::vector<Oid> types;
    for (const auto& param : statement.params()) types.push_back(param.type);
    PGresult* prepared = PQprepare(db.native(), "probe", statement.text().c_str(),
                                   static_cast<int>(types.size()), types.data());
    const bool ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
    const std::string message = PQresultErrorMessage(prepared);
    PQclear(prepared);
    if (!ok) throw std::runtime_error("cannot prepare " + statement.text() + ": " + message);
}

// The plan's nodes, from EXPLAIN (FORMAT JSON) output.
std::vector<NodeRead> plan_reads(const std::string& explained) {
    std::vector<NodeRead> reads;
    // The plans of the UI's lists nest deeper than the parser's default limit.
    json::parse_options options;
    options.max_depth = 1000;
    collect_reads(
        json::parse(explained, {}, options).as_array().at(0).as_object().at("Plan").as_object(),
        reads);
    return reads;
}

struct Bounds {
    std::int64_t rows = kRowBound;
    std::int64_t buffers = kBufferBound;
};

// The statement run under `plan_cache_mode` as the store's prepared statement, in a
// transaction rolled back after: the nodes that read more rows than the bound, and the
// buffers touched if more than the bound, one a line. A statement that runs past the
// connection's statement_timeout is a problem too, shown with its plan. `buffers` gets the
// buffers touched.
std::string overreads(pg::BlockingConnection& db, const pg::Query& statement,
                      const std::string& plan_cache_mode, Bounds bounds, std::int64_t& buffers,
                      bool check_runs) {
    db.execute("SET plan_cache_mode = " + plan_cache_mode);
    prepare_probe(db, statement);
    std::string execute = "EXECUTE probe(";
    for (std::size_t i = 0; i < statement.params().size(); ++i)
        execute += (i > 0 ? ", " : "") + literal(db, statement.params()[i].text);
    execute += ")";
    db.execute("BEGIN");
    std::string found;
    std::vector<NodeRead> reads;
    buffers = 0;
    try {
        reads =
            plan_reads(db.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + execute).text(0, 0));
    } catch (const std::runtime_error& failure) {
        db.execute("ROLLBACK");
        found += "  " + plan_cache_mode + ": failed (" + failure.what() + "), plan:";
        for (const auto& node :
             plan_reads(db.execute("EXPLAIN (FORMAT JSON) " + execute).text(0, 0)))
            found += " " + node.node + ";";
        found += "\n";
        db.execute("BEGIN");
    }
    db.execute("ROLLBACK");
    db.execute("DEALLOCATE probe");
    std::int64_t runs_rows = 0;
    if (!check_runs) {
        for (const auto& read : reads) {
            if (read.node.find(" on runs_v3") == std::string::npos) continue;
            runs_rows += read.rows;
        }
        std::erase_if(reads, [](const NodeRead& read) {
            return read.node.find(" on runs_v3") != std::string::npos;
        });
        if (runs_rows > bounds.rows)
            std::cout << "[figures] no statistics, " << plan_cache_mode << ": runs_v3 read "
                      << runs_rows << " rows\n";
    }
    for (const auto& read : reads) {
        if (read.rows > bounds.rows)
            found += "  " + plan_cache_mode + ": " + read.node + " read " +
                     std::to_string(read.rows) + " rows (bound " + std::to_string(bounds.rows) +
                     ")\n";
    }
    std::string heaviest;
    std::int64_t heaviest_buffers = 0;
    for (const auto& read : reads) {
        buffers += read.buffers;
        if (read.buffers > heaviest_buffers) {
            heaviest_buffers = read.buffers;
            heaviest = read.node;
        }
    }
    if (buffers > bounds.buffers)
        found += "  " + plan_cache_mode + ": touched " + std::to_string(buffers) +
                 " buffers (bound " + std::to_string(bounds.buffers) + "), " +
                 std::to_string(heaviest_buffers) + " of them in " + heaviest + "\n";
    return found;
}

// Whether the run of the load has a run_id (and its tasks a task_name) or is known by its
// number alone, as the client often creates runs: the reference's name indexes then hold
// nothing but NULLs for it, and look the smallest to a plan made without statistics.
enum class RunNaming { named, numbered };

void PrintTo(RunNaming naming, std::ostream* out) {
    *out << (naming == RunNaming::named ? "a run with a run_id" : "a run known by its number");
}

std::string naming_name(const ::testing::TestParamInfo<RunNaming>& info) {
    return info.param == RunNaming::named ? "RunWithRunId" : "RunKnownByNumber";
}

class PostgresPlansTest : public ::testing::TestWithParam<RunNaming> {
protected:
    void SetUp() override {
        if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
        // On PostgreSQL, a database of its own on the test cluster: no folder is used.
        database_.emplace(std::filesystem::temp_directory_path());
        schema_ = std::make_shared<pg::SchemaPreparation>(database_->url(), pg::SchemaSetup{});
        ASSERT_TRUE(schema_->ready());
        db_.emplace(database_->url());
        db_->execute("SET jit = off");  // as the store's connections
        for (const char* table :
             {"flows_v3", "runs_v3", "steps_v3", "tasks_v3", "metadata_v3", "artifact_v3"}) {
            db_->execute(std::string("ALTER TABLE ") + table +
                         " SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)");
        }
        // A plan that walks a run may take minutes: both connections give up after seconds.
        db_->execute("SET statement_timeout = '5s'");
        // The store's own first ANALYZE is off: the plans must hold without statistics too,
        // for a role that may not analyze the tables and for tables below its threshold.
        store_ = open_postgres_store(PostgresOptions{.conninfo = database_->url(),
                                                     .statement_timeout = std::chrono::seconds(5),
                                                     .first_analyze_rows = 0});
        load();
    }

    void TearDown() override {
        pg::set_query_observer(nullptr);
        store_.reset();
        db_.reset();
        database_.reset();
    }

    // Runs the writers to their end; each returns Ok or the first failure.
    void run_writers(const std::function<Async<Ok>(int)>& writer) {
        std::vector<std::optional<Result<Ok>>> outcomes(kWriters);
        for (int index = 0; index < kWriters; ++index) {
            asio::co_spawn(
                io_,
                [&outcomes, &writer, index]() -> asio::awaitable<void> {
                    outcomes[index].emplace(co_await writer(index));
                },
                [](std::exception_ptr failure) {
                    if (failure) std::rethrow_exception(failure);
                });
        }
        io_.restart();
        io_.run();
        for (const auto& outcome : outcomes) {
            ASSERT_TRUE(outcome && *outcome) << (outcome ? outcome->error().message : "none");
        }
    }

    void load() {
        finish(io_, store_->create_flow(NewFlow{.flow_id = kFlow, .user_name = "plans"}));
        run_writers([this](int first) { return write_earlier_runs(*store_, first); });
        const bool named = GetParam() == RunNaming::named;
        run_number_ =
            finish(io_, store_->create_run(NewRun{
                            .flow_id = kFlow,
                            .run_id = named ? std::optional<std::string>(kRunName) : std::nullopt,
                            .user_name = "plans",
                            .system_tags = kSystemTags}))
                .run_number;
        run_ = named ? ObjectKey::name(kRunName) : ObjectKey::number(run_number_);
        for (const char* step : {"start", kStep, "end"})
            finish(io_,
                   store_->create_step(StepPath{kFlow, run_, step}, NewStep{.user_name = "plans"}));
        task_ids_.assign(kTasks, 0);
        run_writers([this](int first) { return write_tasks(*store_, run_, first, task_ids_); });
        const auto count = [this](const char* table) {
            return db_
                ->execute(std::string("SELECT count(*) FROM ") + table +
                          " WHERE run_number = " + std::to_string(run_number_))
                .int64(0, 0);
        };
        ASSERT_EQ(count("tasks_v3"), kTasks);
        ASSERT_GE(count("artifact_v3"), kTasks * kArtifactsPerTask);
        ASSERT_EQ(count("metadata_v3"), kTasks * kMetadataPerTask);
        // Nothing has analyzed the tables: their rows are newer than any statistics.
        ASSERT_EQ(db_->execute("SELECT count(*) FROM pg_stat_user_tables WHERE "
                               "last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL")
                      .int64(0, 0),
                  0);
    }

    // The statements `operation` sends, run as the store runs it (its writes stay), and
    // its failure if it failed.
    struct Sent {
        std::vector<pg::Query> statements;
        std::string failure;
    };
    template <class T>
    Sent statements_of(Async<T> operation) {
        Sent sent;
        pg::set_query_observer(
            [&sent](const pg::Query& query) { sent.statements.push_back(query); });
        auto outcome = outcome_of(io_, std::move(operation));
        pg::set_query_observer(nullptr);
        if (!outcome) sent.failure = outcome.error().message;
        return sent;
    }

    struct Probe {
        std::string what;
        Sent sent;
        Bounds bounds;
    };

    // The reads and writes of one task (a retried one, named by number, and by name when the
    // run has names), of one object, and pages of the lists that must grow only with their
    // result.
    std::vector<Probe> probes() {
        const std::int64_t index = (kTasks / 2 / kRetriedEvery) * kRetriedEvery;  // retried
        const std::int64_t task_id = task_ids_.at(index);
        const ObjectKey run_number = ObjectKey::number(run_number_);
        std::vector<ObjectKey> runs{run_number};
        std::vector<TaskPath> tasks{{kFlow, run_number, kStep, ObjectKey::number(task_id)}};
        if (GetParam() == RunNaming::named) {
            runs.push_back(ObjectKey::name(kRunName));
            tasks.push_back({kFlow, runs.back(), kStep, ObjectKey::name(task_name(index))});
        }
        const StepPath step{kFlow, run_number, kStep};
        const Paging page{.limit = 50};
        const Paging legacy_page{.limit = 50, .legacy_rows = true};
        auto after = [](std::int64_t ts_epoch, std::int64_t id, std::string name) {
            return Paging{.limit = 50, .after = CursorKey{ts_epoch, id, std::move(name)}};
        };
        const std::int64_t ts_epoch = 1'700'000'000'000 + index;
        std::vector<Probe> all;
        auto add = [&all](std::string what, Sent sent, Bounds bounds = {}) {
            all.push_back(Probe{std::move(what), std::move(sent), bounds});
        };
        for (const TaskPath& path : tasks) {
            const std::string named = path.task.is_number() ? " (by number)" : " (by name)";
            const ArtifactScope scope{path.flow_id, path.run, path.step_name, path.task};
            add("get task" + named, statements_of(store_->get_task(path)));
            add("task artifacts" + named, statements_of(store_->list_artifacts(scope, {})));
            add("task artifacts, legacy page" + named,
                statements_of(store_->list_artifacts(scope, legacy_page)));
            add("task artifacts, page" + named, statements_of(store_->list_artifacts(scope, page)));
            add("task artifacts of attempt 1" + named,
                statements_of(store_->list_attempt_artifacts(path, 1)));
            add("artifact, latest attempt" + named,
                statements_of(store_->get_artifact(path, "_task_ok", std::nullopt)));
            add("artifact of attempt 0" + named,
                statements_of(store_->get_artifact(path, "_task_ok", 0)));
            add("task metadata" + named, statements_of(store_->list_task_metadata(path, {})));
            add("task metadata, page" + named,
                statements_of(store_->list_task_metadata(path, page)));
            add("task heartbeat" + named, statements_of(store_->heartbeat_task(path, 1)));
            add("add metadata" + named,
                statements_of(store_->add_metadata(path, metadata_of(index), ts_epoch + 9)));
            add("add artifacts" + named,
                statements_of(store_->add_artifacts(path, artifacts_of(index, 2), ts_epoch + 9)));
        }
        for (const ObjectKey& run : runs) {
            add("get run", statements_of(store_->get_run(RunPath{kFlow, run})));
            add("get step", statements_of(store_->get_step(StepPath{kFlow, run, kStep})));
            add("run heartbeat", statements_of(store_->heartbeat_run(RunPath{kFlow, run}, 1)));
            add("create task", statements_of(store_->create_task(
                                   StepPath{kFlow, run, "end"},
                                   NewTask{.user_name = "plans", .ts_epoch = ts_epoch})));
            add("filtered_tasks",
                statements_of(store_->find_tasks_by_metadata(
                    StepPath{kFlow, run, kStep},
                    TaskPatternQuery{"foreach-execution-path", "^body:7$"})),
                Bounds{kStepBound, kStepBufferBound});
        }
        const Bounds list_page{kRowBound, kPageBufferBound};
        add("step's tasks, first page", statements_of(store_->list_tasks(step, {.paging = page})),
            list_page);
        add("step's tasks, a middle page",
            statements_of(store_->list_tasks(step, {.paging = after(ts_epoch, task_id, "")})),
            list_page);
        const ArtifactScope run_scope{kFlow, run_number, std::nullopt, std::nullopt};
        add("run's artifacts, first page", statements_of(store_->list_artifacts(run_scope, page)),
            list_page);
        add("run's artifacts, a middle page",
            statements_of(store_->list_artifacts(run_scope, after(ts_epoch + 2, task_id, "name"))),
            list_page);
        add("run's artifacts, a middle legacy page",
            statements_of(store_->list_artifacts(
                run_scope, Paging{.limit = 50,
                                  .after = CursorKey{ts_epoch + 2, task_id, "name"},
                                  .legacy_rows = true})),
            list_page);
        // The run's metadata list, streamed page by page: each page seeks the run's list-order
        // index instead of sorting the whole run's metadata.
        const RunPath run_path{kFlow, run_number};
        add("run's metadata, first page", statements_of(store_->list_run_metadata(run_path, page)),
            list_page);
        const auto middle =
            db_->execute("SELECT ts_epoch, id FROM metadata_v3 WHERE run_number = " +
                         std::to_string(run_number_) + " ORDER BY ts_epoch DESC, id DESC OFFSET " +
                         std::to_string(kTasks * kMetadataPerTask / 2) + " LIMIT 1");
        add("run's metadata, a middle page",
            statements_of(store_->list_run_metadata(
                run_path, after(middle.int64(0, 0), middle.int64(0, 1), ""))),
            list_page);
        // The UI's timeline, its first page and a middle one.
        for (const std::int64_t offset : {std::int64_t{0}, kTasks / 2}) {
            UiListQuery timeline{.resource = UiResource::tasks,
                                 .scope = UiScope{.flow_id = kFlow, .run = run_number},
                                 .order = {UiOrder{"ts_epoch", false}},
                                 .limit = 50,
                                 .offset = offset};
            add("UI timeline page at " + std::to_string(offset),
                statements_of(store_->ui_reader().ui_list(timeline)),
                Bounds{kTimelineBound, kStepBufferBound});
        }
        return all;
    }

    // The problems of every probe's statements in both plan modes, one a line; the buffers
    // each probe touched at most are printed as figures. Without `check_runs`, what the plans
    // read of runs_v3 is printed instead of checked: with no statistics, PostgreSQL estimates
    // a flow's runs at one row (at 501 runs it takes the table for 40 rows, from the width of
    // its varchar(255) columns), so a seek on flow_id alone in the reference's (flow_id,
    // run_id) index costs the same as one on the primary key, and the smaller index wins.
    // No form of the equality tells them apart; the first ANALYZE of the table does.
    std::string problems(const std::vector<Probe>& all, const std::string& when, bool check_runs) {
        std::string found;
        for (const auto& probe : all) {
            EXPECT_FALSE(probe.sent.statements.empty()) << probe.what;
            // A failure other than a duplicate (the probes write what the load wrote).
            if (!probe.sent.failure.empty() &&
                probe.sent.failure.find("duplicate") == std::string::npos)
                found += probe.what + ": the store's call failed: " + probe.sent.failure + "\n";
            std::int64_t most_buffers = 0;
            for (const auto& statement : probe.sent.statements) {
                std::string statement_problems;
                for (const char* mode : {"force_generic_plan", "force_custom_plan"}) {
                    std::int64_t buffers = 0;
                    statement_problems +=
                        overreads(*db_, statement, mode, probe.bounds, buffers, check_runs);
                    most_buffers = std::max(most_buffers, buffers);
                }
                if (!statement_problems.empty())
                    found += probe.what + ": " + statement.text() + "\n" + statement_problems;
            }
            std::cout << "[figures] " << when << ", " << probe.what << ": at most " << most_buffers
                      << " buffers a statement\n";
        }
        return found;
    }

    std::optional<TestDatabase> database_;
    std::shared_ptr<pg::SchemaPreparation> schema_;
    std::optional<pg::BlockingConnection> db_;
    asio::io_context io_;
    std::unique_ptr<Store> store_;
    std::int64_t run_number_ = 0;
    ObjectKey run_ = ObjectKey::number(0);  // as the load's paths name the run
    std::vector<std::int64_t> task_ids_;
};

TEST_P(PostgresPlansTest, OneTaskAndOnePageReadTheirOwnRowsOnUnanalyzedAndAnalyzedData) {
    const auto all = probes();
    EXPECT_EQ(problems(all, "before ANALYZE", false), "") << "before ANALYZE";
    // As autovacuum leaves the tables: statistics, and an all-visible heap, under which
    // index-only scans cost less.
    db_->execute("VACUUM ANALYZE");
    EXPECT_EQ(problems(all, "after VACUUM ANALYZE", true), "") << "after VACUUM ANALYZE";
}

INSTANTIATE_TEST_SUITE_P(RunNamings, PostgresPlansTest,
                         ::testing::Values(RunNaming::named, RunNaming::numbered), naming_name);

}  // namespace
}  // namespace mf::testing
