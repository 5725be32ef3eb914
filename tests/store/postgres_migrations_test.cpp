// The PostgreSQL schema's migrations through the real binary's `migrate` and `db-status`,
// the migration API of a running server (docs/api.md#migration-api), and `serve` on a schema it
// does not know. They run in the suite's PostgreSQL pass (MF_TEST_BACKEND=postgres).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

const std::vector<std::string> kVersions = {"1",
                                            "20200603104139",
                                            "20201002000616",
                                            "20210202145952",
                                            "20210260056859",
                                            "20211202100726",
                                            "20220503175500",
                                            "20230118020300",
                                            "20260615000000",
                                            "20260706000000",
                                            "20260706000001",
                                            "20260706000002",
                                            "20260706000003",
                                            "20261125000000",
                                            "20261205000000",
                                            "20261205000001",
                                            "20261205000002",
                                            "20261205000003",
                                            "20261206000000",
                                            "20261206000001",
                                            "20261206000002"};

json::array versions_json(std::vector<std::string>::const_iterator from) {
    json::array list;
    for (auto it = from; it != kVersions.end(); ++it) list.emplace_back(*it);
    return list;
}

class PostgresMigrationsTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
        database_ = std::make_unique<TestDatabase>(dir_.path());
    }

    std::string cli(const std::string& command) {
        std::string output;
        exit_status_ = run_command(
            std::string(MF_BINARY) + " " + command + " --database '" + database_->url() + "' 2>&1",
            &output);
        return output;
    }

    TempDir dir_;
    std::unique_ptr<TestDatabase> database_;
    int exit_status_ = -1;
};

TEST_F(PostgresMigrationsTest, MigrateAppliesEverythingOnceThenStatusIsUpToDate) {
    auto before = json::parse(cli("db-status"));
    ASSERT_EQ(exit_status_, 0);
    EXPECT_EQ(before.at("current_version"), "0");
    EXPECT_EQ(before.at("is_up_to_date"), false);
    EXPECT_EQ(before.at("unapplied_migrations"), versions_json(kVersions.begin()));

    std::string first = cli("migrate");
    ASSERT_EQ(exit_status_, 0) << first;
    EXPECT_NE(first.find("applied 20261206000002"), std::string::npos) << first;
    std::string second = cli("migrate");
    ASSERT_EQ(exit_status_, 0) << second;
    EXPECT_NE(second.find("nothing to apply"), std::string::npos) << second;

    auto after = json::parse(cli("db-status"));
    ASSERT_EQ(exit_status_, 0);
    EXPECT_EQ(after, json::parse(R"({"is_up_to_date": true, "current_version": "20261206000002",
        "migration_in_progress": false, "db_schema_versions": )" +
                                 json::serialize(versions_json(kVersions.begin())) +
                                 R"(, "unapplied_migrations": []})"));

    // goose's bookkeeping: the row for version 0, then one per migration, each applied once.
    pg::BlockingConnection db(database_->url());
    auto rows = db.execute("SELECT version_id, is_applied FROM goose_db_version ORDER BY id");
    ASSERT_EQ(rows.size(), 1 + static_cast<int>(kVersions.size()));
    EXPECT_EQ(rows.int64(0, 0), 0);
    for (int row = 1; row < rows.size(); ++row) {
        EXPECT_EQ(std::to_string(rows.int64(row, 0)), kVersions[row - 1]);
        EXPECT_TRUE(rows.boolean(row, 1));
    }
}

TEST_F(PostgresMigrationsTest, ServeRefusesAnOlderSchemaUnlessToldToMigrate) {
    // A database the Python service left at 20230118020300: tables, but indexes missing.
    pg::BlockingConnection db(database_->url());
    cli("migrate");
    db.execute("DELETE FROM goose_db_version WHERE version_id > 20230118020300");

    const std::uint16_t port = free_port();
    const std::vector<std::string> serve = {
        "serve", "--host",     "127.0.0.1",     "--port", std::to_string(port), "--migration-port",
        "0",     "--database", database_->url()};
    ServiceProcess refused(serve, (dir_.path() / "refused.log").string());
    ASSERT_EQ(refused.wait_for_exit(std::chrono::seconds(20)), 1);
    EXPECT_NE(refused.log().find("metadata-service migrate --database"), std::string::npos)
        << refused.log();

    auto with_migrate = serve;
    with_migrate.push_back("--migrate");
    ServiceProcess served(with_migrate, (dir_.path() / "served.log").string());
    ASSERT_TRUE(served.wait_until_serving(port)) << served.log();
    EXPECT_EQ(json::parse(cli("db-status")).at("is_up_to_date"), true);
}

TEST_F(PostgresMigrationsTest, MigrationApiAnswersAsTheReference) {
    TestServer server;  // its own fresh database, migrated when the server opened it
    HttpClient client(server.migration_port());

    auto ping = client.get("/ping");
    EXPECT_EQ(ping.status, 200u);
    EXPECT_EQ(ping.body, "pong");
    EXPECT_FALSE(ping.has_header("metadata_service_version"));

    auto version = client.get("/version");
    EXPECT_EQ(version.status, 200u);
    EXPECT_EQ(version.body, "latest");

    auto status = client.get("/db_schema_status");
    EXPECT_EQ(status.status, 200u);
    EXPECT_EQ(status.header("content-type"), "application/json");
    EXPECT_EQ(status.json().at("is_up_to_date"), true);
    EXPECT_EQ(status.json().at("db_schema_versions"), versions_json(kVersions.begin()));

    // The Terraform module's migration Lambda: status, upgrade, status again.
    auto upgrade = client.patch("/upgrade", "");
    EXPECT_EQ(upgrade.status, 200u);
    EXPECT_EQ(upgrade.body, "upgrade success");
    EXPECT_EQ(client.get("/db_schema_status").json().at("current_version"), "20261206000002");
}

}  // namespace
}  // namespace mf::testing
