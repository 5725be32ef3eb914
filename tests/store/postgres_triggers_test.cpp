// DB_TRIGGER_CREATE=1 (README.md#postgresql): the service creates the notify triggers at startup,
// once, in DB_SCHEMA_NAME, and drops older notify_ui* ones; a LISTEN session then hears what the
// API writes.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

// The payloads of the notifications on channel `notify`, waiting up to a few seconds for
// `expected` of them.
std::vector<boost::json::object> notifications(pg::BlockingConnection& listener,
                                               std::size_t expected) {
    std::vector<boost::json::object> payloads;
    PGconn* connection = listener.native();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (payloads.size() < expected && std::chrono::steady_clock::now() < deadline) {
        pollfd socket{PQsocket(connection), POLLIN, 0};
        poll(&socket, 1, 100);
        PQconsumeInput(connection);
        while (PGnotify* notify = PQnotifies(connection)) {
            EXPECT_STREQ(notify->relname, "notify");
            payloads.push_back(boost::json::parse(notify->extra).as_object());
            PQfreemem(notify);
        }
    }
    return payloads;
}

// The notification about `table`; fails the test if there is none.
boost::json::object about(const std::vector<boost::json::object>& payloads,
                          const std::string& table) {
    for (const auto& payload : payloads) {
        if (payload.at("table") == table.c_str()) return payload;
    }
    ADD_FAILURE() << "no notification about " << table;
    return {};
}

std::vector<std::string> notify_triggers(pg::BlockingConnection& db) {
    auto rows = db.execute(
        "SELECT t.tgname || ' on ' || c.relname || ' ' || t.tgenabled::text FROM pg_trigger t JOIN "
        "pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'notify_ui%' ORDER BY 1");
    std::vector<std::string> names;
    for (int row = 0; row < rows.size(); ++row) names.push_back(rows.text(row, 0));
    return names;
}

// The service's tables in `schema` (the database's search_path, set in the URL, as a team
// whose tables are not in public does), with DB_SCHEMA_NAME naming it.
void check_triggers(const std::string& schema) {
    TempDir dir;
    TestDatabase database(dir.path());
    std::string url = database.url();
    if (schema != "public") {
        pg::BlockingConnection(url).execute("CREATE SCHEMA " + schema);
        url += (url.find('?') == std::string::npos ? "?" : "&");
        url += "options=-csearch_path%3D" + schema;
    }
    pg::BlockingConnection db(url);
    pg::apply_migrations(db);
    // A trigger of an older release of the reference, which the service replaces.
    db.execute("CREATE FUNCTION " + schema +
               ".notify_ui_old() RETURNS trigger LANGUAGE plpgsql AS "
               "$$BEGIN RETURN NEW; END;$$");
    db.execute("CREATE TRIGGER notify_ui_old AFTER INSERT ON " + schema +
               ".runs_v3 FOR EACH ROW EXECUTE PROCEDURE " + schema + ".notify_ui_old()");

    const std::vector<std::string> expected = {
        "notify_ui_05092024_artifact_v3 on artifact_v3 A",
        "notify_ui_05092024_flows_v3 on flows_v3 A",
        "notify_ui_05092024_metadata_v3 on metadata_v3 A",
        "notify_ui_05092024_runs_v3 on runs_v3 A",
        "notify_ui_05092024_steps_v3 on steps_v3 A",
        "notify_ui_05092024_tasks_v3 on tasks_v3 A",
    };
    for (int start = 1; start <= 2; ++start) {
        const std::uint16_t port = free_port();
        ServiceProcess server({"serve", "--host", "127.0.0.1", "--port", std::to_string(port),
                               "--migration-port", "0", "--database", url},
                              (dir.path() / ("server" + std::to_string(start) + ".log")).string(),
                              {"DB_TRIGGER_CREATE=1", "DB_SCHEMA_NAME=" + schema});
        ASSERT_TRUE(server.wait_until_serving(port)) << server.log();
        // Created once, enabled ALWAYS ('A'), the old one gone with its function.
        EXPECT_EQ(notify_triggers(db), expected) << "after start " << start;
        EXPECT_EQ(db.execute("SELECT 1 FROM pg_proc WHERE proname = 'notify_ui_old'").size(), 0);
        if (start == 2) break;

        pg::BlockingConnection listener(url);
        listener.execute("LISTEN notify");
        HttpClient http(port);
        ASSERT_EQ(http.post("/flows/NotifyFlow", R"({"user_name": "n"})").status, 200u);
        auto run = http.post("/flows/NotifyFlow/run", R"({"user_name": "n"})");
        ASSERT_EQ(run.status, 200u);
        const auto run_number = run.json().at("run_number").to_number<std::int64_t>();
        const std::string run_url = "/flows/NotifyFlow/runs/" + std::to_string(run_number);
        ASSERT_EQ(http.post(run_url + "/steps/start/step", R"({"user_name": "n"})").status, 200u);
        auto task = http.post(run_url + "/steps/start/task", R"({"user_name": "n"})");
        ASSERT_EQ(task.status, 200u);
        const auto task_id = task.json().at("task_id").to_number<std::int64_t>();
        auto metadata = http.post(
            run_url + "/steps/start/tasks/" + std::to_string(task_id) + "/metadata",
            R"([{"field_name": "attempt", "value": "0", "type": "attempt", "user_name": "n",
                 "tags": ["attempt_id:0"]}])");
        ASSERT_EQ(metadata.status, 200u);

        auto payloads = notifications(listener, 5);
        const auto run_payload = about(payloads, "runs_v3");
        EXPECT_EQ(run_payload.at("schema"), schema.c_str());
        EXPECT_EQ(run_payload.at("operation"), "INSERT");
        const auto& run_data = run_payload.at("data").as_object();
        EXPECT_EQ(run_data.at("flow_id"), "NotifyFlow");
        EXPECT_EQ(run_data.at("run_number").to_number<std::int64_t>(), run_number);
        EXPECT_TRUE(run_data.contains("last_heartbeat_ts"));
        EXPECT_EQ(run_data.size(), 3u);
        const auto task_payload = about(payloads, "tasks_v3");
        const auto& task_data = task_payload.at("data").as_object();
        EXPECT_EQ(task_data.at("step_name"), "start");
        EXPECT_EQ(task_data.at("task_id").to_number<std::int64_t>(), task_id);
        EXPECT_EQ(task_data.size(), 4u);
        const auto metadata_payload = about(payloads, "metadata_v3");
        const auto& metadata_data = metadata_payload.at("data").as_object();
        EXPECT_EQ(metadata_data.at("field_name"), "attempt");
        EXPECT_EQ(metadata_data.at("value"), "0");
        EXPECT_EQ(metadata_data.at("tags"), boost::json::array{"attempt_id:0"});
        EXPECT_EQ(metadata_data.size(), 7u);
        about(payloads, "flows_v3");
        about(payloads, "steps_v3");
        server.signal(SIGTERM);
        EXPECT_EQ(server.wait_for_exit(std::chrono::seconds(10)), 0);
    }
    // Nothing of the service's landed outside its schema.
    EXPECT_EQ(db.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%_v3' AND "
                         "schemaname <> $1",
                         {schema})
                  .int64(0, 0),
              0);
}

TEST(PostgresTriggersTest, CreatedOnceOldOnesDroppedAndTheyNotify) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    check_triggers("public");
}

TEST(PostgresTriggersTest, InTheSchemaOfDbSchemaName) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    check_triggers("metaflow");
}

}  // namespace
}  // namespace mf::testing
