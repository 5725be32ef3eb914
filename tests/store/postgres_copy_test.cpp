// `metadata-service copy` from a SQLite store filled through the API into a fresh
// PostgreSQL database: ids preserved, counts equal, statistics gathered, a second run changes
// nothing, and the next ids PostgreSQL hands out come after the copied ones.

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "store/postgres/pg_connection.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

void fill(HttpClient& client) {
    ASSERT_EQ(client.post("/flows/CopyFlow", R"({"user_name": "u"})").status, 200u);
    for (int run = 1; run <= 3; ++run) {
        ASSERT_EQ(client.post("/flows/CopyFlow/run", R"({"user_name": "u", "tags": ["a"]})").status,
                  200u);
        const std::string path = "/flows/CopyFlow/runs/" + std::to_string(run);
        ASSERT_EQ(client.post(path + "/steps/start/step", "{}").status, 200u);
        ASSERT_EQ(client.post(path + "/steps/start/task", "{}").status, 200u);
        const std::string task = path + "/steps/start/tasks/" + std::to_string(run);
        ASSERT_EQ(
            client.post(task + "/metadata", R"([{"field_name": "f", "value": "v", "type": "t"}])")
                .status,
            200u);
        ASSERT_EQ(client
                      .post(task + "/artifact",
                            R"([{"name": "x", "location": "s3://b/x", "ds_type": "s3",
                                   "attempt_id": 0}])")
                      .status,
                  200u);
    }
}

TEST(PostgresCopyTest, CopiesASqliteStoreWithItsIdsAndCanRunAgain) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TempDir dir;
    const std::string sqlite_url = "sqlite:" + (dir.path() / "laptop.db").string();
    {
        const std::uint16_t port = free_port();
        ServiceProcess laptop({"serve", "--host", "127.0.0.1", "--port", std::to_string(port),
                               "--database", sqlite_url},
                              (dir.path() / "sqlite.log").string());
        ASSERT_TRUE(laptop.wait_until_serving(port)) << laptop.log();
        HttpClient client(port);
        fill(client);
        laptop.signal(SIGTERM);
        ASSERT_EQ(laptop.wait_for_exit(std::chrono::seconds(20)), 0);
    }
    TestDatabase team(dir.path());
    const std::string copy =
        std::string(MF_BINARY) + " copy --from '" + sqlite_url + "' --to '" + team.url() + "' 2>&1";
    std::string output;
    ASSERT_EQ(run_command(copy, &output), 0) << output;
    const std::map<std::string, std::int64_t> expected = {{"artifact_v3", 3}, {"flows_v3", 1},
                                                          {"metadata_v3", 3}, {"runs_v3", 3},
                                                          {"steps_v3", 3},    {"tasks_v3", 3}};
    EXPECT_EQ(team.row_counts(), expected);
    // Column statistics exist only once a table is analyzed; autovacuum's threshold is 50
    // changed rows, far more than these tables hold.
    pg::BlockingConnection db(team.url());
    EXPECT_EQ(db.execute("SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename IN "
                         "('flows_v3', 'runs_v3', 'steps_v3', 'tasks_v3', 'metadata_v3', "
                         "'artifact_v3')")
                  .int64(0, 0),
              6);
    ASSERT_EQ(run_command(copy, &output), 0) << output;
    EXPECT_EQ(team.row_counts(), expected);

    const std::uint16_t port = free_port();
    ServiceProcess server({"serve", "--host", "127.0.0.1", "--port", std::to_string(port),
                           "--migration-port", "0", "--database", team.url()},
                          (dir.path() / "postgres.log").string());
    ASSERT_TRUE(server.wait_until_serving(port)) << server.log();
    HttpClient client(port);
    auto task = client.get("/flows/CopyFlow/runs/2/steps/start/tasks/2");
    EXPECT_EQ(task.status, 200u) << task.body;
    EXPECT_EQ(task.json().at("tags"), boost::json::parse(R"(["a"])"));
    auto run = client.post("/flows/CopyFlow/run", "{}");
    ASSERT_EQ(run.status, 200u);
    EXPECT_EQ(run.json().at("run_number"), 4);
}

}  // namespace
}  // namespace mf::testing
