// A young PostgreSQL database gets its first statistics from the store: without any,
// PostgreSQL takes every index for one row and can pick one that walks a step's rows for one
// task's. So the store analyzes a table that has none once it holds a few thousand rows, and
// leaves small tables and later statistics to autovacuum.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "store/postgres/pg_connection.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

// 25 metadata records in one post.
std::string records() {
    std::string body = "[";
    for (int field = 0; field < 25; ++field) {
        if (field > 0) body += ", ";
        body += R"({"field_name": "f)" + std::to_string(field) +
                R"(", "value": "v", "type": "t", "user_name": "u"})";
    }
    return body + "]";
}

TEST(PostgresStatisticsTest, ATableWithoutStatisticsIsAnalyzedOnceItHoldsAFewThousandRows) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server;
    auto client = server.client();
    ASSERT_EQ(client.post("/flows/StatsFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(client.post("/flows/StatsFlow/run", R"({"user_name": "u"})").status, 200u);
    const std::string step = "/flows/StatsFlow/runs/1/steps/start/";
    ASSERT_EQ(client.post(step + "step", "{}").status, 200u);
    pg::BlockingConnection db(server.database_url());
    const auto analyzed_by_a_client = [&db](const std::string& table) {
        return db.execute("SELECT count(*) FROM pg_stat_user_tables WHERE relname = '" + table +
                          "' AND last_analyze IS NOT NULL")
                   .int64(0, 0) == 1;
    };
    ASSERT_FALSE(analyzed_by_a_client("metadata_v3"));

    const std::string body = records();
    std::string task;
    for (int tasks = 0; tasks < 100; ++tasks) {
        auto created = client.post(step + "task", "{}");
        ASSERT_EQ(created.status, 200u) << created.body;
        task = step + "tasks/" + std::to_string(created.json().at("task_id").as_int64());
        ASSERT_EQ(client.post(task + "/metadata", body).status, 200u);
    }
    // The store looks every 256 writes; PostgreSQL publishes a table's row count within a
    // second or so of its writes, and up to 10 s later on a machine too busy for that.
    // Heartbeats are writes.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && !analyzed_by_a_client("metadata_v3")) {
        client.post(task + "/heartbeat", "{}");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(analyzed_by_a_client("metadata_v3"));
    // A table of a few rows is left to autovacuum.
    EXPECT_FALSE(analyzed_by_a_client("flows_v3"));
}

}  // namespace
}  // namespace mf::testing
