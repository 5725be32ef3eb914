// The reads the Metaflow client makes, over real HTTP, against the scale fixture (metadata-service
// generate-fixture) (store/scale_fixture.hpp): counts, order and content of every list, the big
// lists streamed in chunks with the same body as an unstreamed list, and on each backend every
// statement of these reads served by an index. Correctness only: the benchmark (bench/scale.sh)
// measures time and memory at full scale.
//
// The fixture's size comes from MF_TEST_SCALE_RUNS and MF_TEST_SCALE_FOREACH_TASKS; the
// defaults keep the test to seconds in CI while every big list still spans several pages.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/streaming.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/scale_fixture.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

std::int64_t environment_count(const char* name, std::int64_t fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::atoll(value) : fallback;
}

ScaleFixture test_fixture() {
    ScaleFixture fixture;
    fixture.runs = environment_count("MF_TEST_SCALE_RUNS", 300);
    fixture.big_step_tasks = environment_count("MF_TEST_SCALE_FOREACH_TASKS", 2'500);
    return fixture;
}

// The SQL each read sent, with its parameters, as the store's observer saw it.
struct Statement {
    std::string sql;
    std::vector<std::optional<std::string>> params;
};

class StatementLog {
public:
    StatementLog() {
        if (testing_postgres()) {
            pg::set_query_observer([this](const pg::Query& query) {
                Statement statement{query.text(), {}};
                for (const auto& param : query.params()) statement.params.push_back(param.text);
                add(std::move(statement));
            });
        } else {
            sqlite::set_statement_observer([this](const std::string& sql) { add({sql, {}}); });
        }
    }
    ~StatementLog() {
        pg::set_query_observer(nullptr);
        sqlite::set_statement_observer(nullptr);
    }
    std::vector<Statement> take() {
        std::lock_guard lock(mutex_);
        return std::move(statements_);
    }

private:
    void add(Statement statement) {
        std::lock_guard lock(mutex_);
        statements_.push_back(std::move(statement));
    }
    std::mutex mutex_;
    std::vector<Statement> statements_;
};

// A copy, so that the array outlives the response it came from.
json::array array_of(const json::value& value) {
    EXPECT_TRUE(value.is_array()) << "expected a JSON array";
    const json::array* array = value.if_array();
    return array ? *array : json::array();
}

// The generic plan of the statement, which the store's prepared statement may switch to after
// five executions: planned for the parameters' types (inferred here), not their values.
std::string generic_plan(pg::BlockingConnection& db, const Statement& statement) {
    db.execute("PREPARE probe AS " + statement.sql);
    db.execute("SET plan_cache_mode = force_generic_plan");
    std::string execute = "EXPLAIN EXECUTE probe(";
    for (std::size_t i = 0; i < statement.params.size(); ++i) {
        if (i > 0) execute += ", ";
        const auto& param = statement.params[i];
        if (!param) {
            execute += "NULL";
            continue;
        }
        char* literal = PQescapeLiteral(db.native(), param->c_str(), param->size());
        execute += literal;
        PQfreemem(literal);
    }
    pg::Rows rows = db.execute(execute + ")");
    std::string plan;
    for (int row = 0; row < rows.size(); ++row) plan += rows.text(row, 0) + "\n";
    return plan;
}

// The plan's problems: a table read whole where an index could serve (SQLite: SCAN of a
// table, not of json_each; PostgreSQL with sequential scans disabled: a Seq Scan), or, on
// SQLite, for a page of a streamed list (`page`), a sort of the whole scope before the LIMIT.
// On PostgreSQL, a read of one task (`one_task`) must find the task by its key in the
// generic plan too, not among the step's tasks.
std::string plan_problems(const std::string& database_url, const Statement& statement, bool page,
                          bool one_task) {
    std::string plan;
    std::string problems;
    if (testing_postgres()) {
        pg::BlockingConnection db(database_url);
        db.execute("SET enable_seqscan = off");
        pg::Rows rows = db.execute("EXPLAIN " + statement.sql, statement.params);
        for (int row = 0; row < rows.size(); ++row) plan += rows.text(row, 0) + "\n";
        // No check of sorts here: at the test's small size, sorting a few hundred rows from
        // an index range is PostgreSQL's right choice (bench/scale.sh shows the full size).
        if (plan.find("Seq Scan") != std::string::npos) problems += "sequential scan; ";
        if (one_task && statement.sql.find("tasks_v3") != std::string::npos) {
            const std::string generic = generic_plan(db, statement);
            if (generic.find("tasks_v3_idx_step_list_order") != std::string::npos ||
                generic.find("tasks_v3_pkey") == std::string::npos)
                problems += "the generic plan does not find the task by its key; ";
            plan += "generic plan:\n" + generic;
        }
    } else {
        const auto path = database_url.substr(std::string("sqlite:").size());
        sqlite::Connection db(path, sqlite::Connection::Access::read_only, 1000);
        sqlite::Statement explained = db.prepare("EXPLAIN QUERY PLAN " + statement.sql);
        while (explained.step()) {
            const std::string detail = explained.text(3);
            plan += detail + "\n";
            if (detail.rfind("SCAN ", 0) == 0 && detail.find("json_each") == std::string::npos &&
                detail.find("CONSTANT") == std::string::npos)
                problems += "table scan; ";
            if (page && detail.find("TEMP B-TREE FOR ORDER BY") != std::string::npos)
                problems += "sort; ";
        }
    }
    // A read of one task's rows must not walk the whole run's artifacts in list order.
    if (!page && (plan.find("artifact_v3_idx_run_ts_task_name_desc") != std::string::npos ||
                  plan.find("artifact_v3_idx_run_list_order") != std::string::npos))
        problems += "one task's read walks the run's artifacts; ";
    return problems.empty() ? "" : problems + "\n" + statement.sql + "\n" + plan;
}

class ScaleTest : public ::testing::Test {
protected:
    ScaleTest()
        : fixture_(test_fixture()), loaded_(load_scale_fixture(server_.database_url(), fixture_)) {}

    std::string run_path() const {
        return "/flows/" + fixture_.flow_id + "/runs/" + std::to_string(loaded_.big_run_number);
    }
    std::string body_step() const { return run_path() + "/steps/" + kFixtureForeachStep; }
    std::string task_path(std::int64_t foreach_index) const {
        return body_step() + "/tasks/" + std::to_string(loaded_.first_body_task_id + foreach_index);
    }

    // GETs `target`, checks 200 and JSON, and checks the plans of the statements it sent.
    enum class Scope { big, paged, one_task };
    json::value read(const std::string& target, Scope scope = Scope::big) {
        log_.take();
        auto response = client_.get(target);
        EXPECT_EQ(response.status, 200u) << target << ": " << response.body;
        for (const auto& statement : log_.take()) {
            if (statement.sql.rfind("SELECT", 0) != 0) continue;
            ++explained_;
            const bool page =
                scope == Scope::paged && statement.sql.find("LIMIT") != std::string::npos;
            EXPECT_EQ(
                plan_problems(server_.database_url(), statement, page, scope == Scope::one_task),
                "")
                << target;
        }
        last_ = response;
        return response.json();
    }

    TestServer server_;
    ScaleFixture fixture_;
    LoadedFixture loaded_;
    HttpClient client_ = server_.client();
    StatementLog log_;
    HttpResponse last_;
    int explained_ = 0;
};

TEST_F(ScaleTest, ClientReadsAreCompleteOrderedIndexedAndStreamed) {
    const std::int64_t tasks = fixture_.big_step_tasks;
    const std::int64_t big_run_tasks = tasks + 2;  // with start and end
    ASSERT_EQ(loaded_.rows.at("runs_v3"), fixture_.runs);
    ASSERT_EQ(loaded_.rows.at("tasks_v3"), 2 * fixture_.runs + tasks);
    ASSERT_EQ(loaded_.rows.at("metadata_v3"),
              kFixtureMetadataPerTask * (2 * fixture_.runs + tasks));
    ASSERT_EQ(loaded_.rows.at("artifact_v3"),
              kFixtureArtifactsPerTask * (2 * fixture_.runs + tasks));
    const bool streams = tasks > api::kStreamPageRows;

    {
        SCOPED_TRACE("list runs: newest first, the big run first");
        const auto runs = array_of(read("/flows/" + fixture_.flow_id + "/runs", Scope::paged));
        ASSERT_EQ(static_cast<std::int64_t>(runs.size()), fixture_.runs);
        EXPECT_EQ(runs[0].at("run_number").as_int64(), loaded_.big_run_number);
        EXPECT_EQ(runs[0].at("user"), "scale");
        EXPECT_EQ(runs[0].at("system_tags").as_array().size(), 4u);
        for (std::size_t i = 1; i < runs.size(); ++i)
            ASSERT_GT(runs[i - 1].at("ts_epoch").as_int64(), runs[i].at("ts_epoch").as_int64());
    }
    {
        SCOPED_TRACE("list the foreach step's tasks");
        const auto listed = array_of(read(body_step() + "/tasks", Scope::paged));
        ASSERT_EQ(static_cast<std::int64_t>(listed.size()), tasks);
        if (streams) {
            EXPECT_EQ(last_.header("transfer-encoding"), "chunked");
        }
        // Newest first: the last foreach task first, each id once.
        for (std::int64_t i = 0; i < tasks; ++i) {
            ASSERT_EQ(listed[i].at("task_id").as_int64(),
                      loaded_.first_body_task_id + tasks - 1 - i);
        }
        EXPECT_EQ(listed[0].at("step_name"), kFixtureForeachStep);
        EXPECT_EQ(listed[0].at("system_tags").as_array().size(), 4u);
        // The same rows as the paginated list, page after page: the streamed body is the
        // unstreamed one.
        json::array paged;
        std::string cursor;
        for (int page = 0; page < 1000; ++page) {
            auto response = client_.get(body_step() + "/tasks?_limit=500" +
                                        (cursor.empty() ? "" : "&_cursor=" + url_encode(cursor)));
            ASSERT_EQ(response.status, 200u);
            for (const auto& task : array_of(response.json())) paged.push_back(task);
            if (!response.has_header("x-next-cursor")) break;
            cursor = response.header("x-next-cursor");
        }
        EXPECT_EQ(json::value(paged), json::value(listed));
    }
    {
        SCOPED_TRACE("the run's artifacts");
        const auto artifacts = array_of(read(run_path() + "/artifacts", Scope::paged));
        ASSERT_EQ(static_cast<std::int64_t>(artifacts.size()),
                  kFixtureArtifactsPerTask * big_run_tasks);
        if (streams) {
            EXPECT_EQ(last_.header("transfer-encoding"), "chunked");
        }
        std::set<std::pair<std::int64_t, std::string>> seen;
        for (std::size_t i = 0; i < artifacts.size(); ++i) {
            const auto& artifact = artifacts[i].as_object();
            ASSERT_TRUE(seen.emplace(artifact.at("task_id").as_int64(),
                                     std::string(artifact.at("name").as_string()))
                            .second);
            if (i == 0) continue;
            const auto& before = artifacts[i - 1].as_object();
            const auto key = [](const json::object& a) {
                return std::tuple(a.at("ts_epoch").as_int64(), a.at("task_id").as_int64(),
                                  std::string(a.at("name").as_string()));
            };
            ASSERT_GT(key(before), key(artifact));
        }
        const auto& newest = artifacts[0].as_object();
        EXPECT_EQ(newest.at("step_name"), "end");
        EXPECT_EQ(newest.at("content_type"), "pickle-v4");
        EXPECT_EQ(newest.at("ds_type"), "local");
    }
    {
        SCOPED_TRACE("one task: itself, its metadata, its artifacts");
        const std::int64_t index = tasks / 2;
        auto task = read(task_path(index), Scope::one_task).as_object();
        EXPECT_EQ(task.at("task_id").as_int64(), loaded_.first_body_task_id + index);
        const auto metadata = array_of(read(task_path(index) + "/metadata", Scope::one_task));
        ASSERT_EQ(metadata.size(), static_cast<std::size_t>(kFixtureMetadataPerTask));
        std::map<std::string, std::string> fields;
        for (const auto& record : metadata) {
            fields[std::string(record.at("field_name").as_string())] =
                std::string(record.at("value").as_string());
        }
        EXPECT_EQ(fields["foreach-execution-path"], "body:" + std::to_string(index));
        EXPECT_EQ(fields["attempt"], "0");
        EXPECT_EQ(fields["attempt_ok"], "True");
        EXPECT_EQ(metadata[0].at("tags").as_array().at(0), "attempt_id:0");
        const auto artifacts = array_of(read(task_path(index) + "/artifacts", Scope::one_task));
        ASSERT_EQ(artifacts.size(), static_cast<std::size_t>(kFixtureArtifactsPerTask));
        std::map<std::string, std::string> shas;
        for (const auto& artifact : artifacts) {
            shas[std::string(artifact.at("name").as_string())] =
                std::string(artifact.at("sha").as_string());
        }
        for (int i = 0; i < kFixtureArtifactsPerTask; ++i) {
            EXPECT_EQ(shas[kFixtureArtifactNames[i]],
                      fixture_artifact_sha(loaded_.first_body_task_id + index, i));
        }
        auto artifact = read(task_path(index) + "/artifacts/_task_ok", Scope::one_task).as_object();
        EXPECT_EQ(artifact.at("attempt_id").as_int64(), 0);
    }
    {
        SCOPED_TRACE("filtered_tasks: one foreach branch, then a pattern that matches many");
        const std::string filter =
            body_step() + "/filtered_tasks?metadata_field_name=foreach-execution-path&pattern=";
        const auto one = array_of(read(filter + "body:7"));
        ASSERT_EQ(one.size(), 1u);
        EXPECT_EQ(one[0].as_string(), fixture_.flow_id + "/" +
                                          std::to_string(loaded_.big_run_number) + "/body/" +
                                          std::to_string(loaded_.first_body_task_id + 7));
        // body:1, body:10..19, body:100..199, ...
        std::size_t ones = 0;
        for (std::int64_t i = 0; i < tasks; ++i) ones += std::to_string(i).front() == '1';
        EXPECT_EQ(array_of(read(filter + url_encode("body:1.*"))).size(), ones);
    }
    EXPECT_GT(explained_, 8);
}

// A fixture with retried tasks: every retry_every-th foreach task has a failed attempt 0 and
// a second attempt that wrote its metadata and artifacts again, as the client leaves them.
TEST(ScaleFixtureRetries, RetriedTasksHaveAFailedAttemptAndASecondOne) {
    TestServer server;
    ScaleFixture fixture;
    fixture.runs = 2;
    fixture.big_step_tasks = 10;
    fixture.retry_every = 4;
    const auto loaded = load_scale_fixture(server.database_url(), fixture);
    EXPECT_EQ(loaded.rows.at("metadata_v3"),
              (2 * 2 + 10 + 3) * kFixtureMetadataPerTask);  // foreach indexes 0, 4, 8 twice
    HttpClient client = server.client();
    auto task_path = [&](std::int64_t foreach_index) {
        return "/flows/" + fixture.flow_id + "/runs/" + std::to_string(loaded.big_run_number) +
               "/steps/" + kFixtureForeachStep + "/tasks/" +
               std::to_string(loaded.first_body_task_id + foreach_index);
    };
    for (std::int64_t index : {0, 1, 4}) {
        SCOPED_TRACE(index);
        const bool retried = index % 4 == 0;
        std::set<std::string> outcomes;
        const auto metadata = client.get(task_path(index) + "/metadata").json();
        for (const auto& row : metadata.as_array()) {
            const auto& field = row.as_object();
            if (field.at("field_name") != "attempt_ok") continue;
            outcomes.insert(json::serialize(field.at("tags")) + "=" +
                            std::string(field.at("value").as_string()));
        }
        const std::set<std::string> expected =
            retried ? std::set<std::string>{R"(["attempt_id:0"]=False)", R"(["attempt_id:1"]=True)"}
                    : std::set<std::string>{R"(["attempt_id:0"]=True)"};
        EXPECT_EQ(outcomes, expected);
        const auto artifacts = array_of(client.get(task_path(index) + "/artifacts").json());
        ASSERT_EQ(artifacts.size(), static_cast<std::size_t>(kFixtureArtifactsPerTask));
        EXPECT_EQ(artifacts[0].at("attempt_id"), retried ? 1 : 0);
    }
}

}  // namespace
}  // namespace mf::testing
