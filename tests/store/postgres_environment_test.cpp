// A server given only the Terraform module's environment (deploy/terraform: host, port,
// user, password, name, sslmode) finds its PostgreSQL database and talks to it over TLS, as
// RDS on PostgreSQL 15 requires (the test cluster serves TLS: scripts/pg-cluster.sh).

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "store/postgres/pg_connection.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

// The part of `text` between `after` and the next of `until`.
std::string between(const std::string& text, const std::string& after, const std::string& until) {
    const std::size_t start = text.find(after) + after.size();
    return text.substr(start, text.find_first_of(until, start) - start);
}

TEST(PostgresEnvironmentTest, TerraformEnvironmentAloneServesOverTls) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TempDir dir;
    TestDatabase database(dir.path());
    const std::string url = database.url();  // postgresql://postgres@HOST:PORT/NAME?...
    const std::string host_and_port = between(url, "@", "/");
    const std::string name = between(url.substr(url.find('@')), "/", "?");

    const std::uint16_t port = free_port();
    ServiceProcess server(
        {"serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--migration-port", "0"},
        (dir.path() / "server.log").string(),
        {"MF_METADATA_DB_HOST=" + host_and_port.substr(0, host_and_port.find(':')),
         "MF_METADATA_DB_PORT=" + host_and_port.substr(host_and_port.find(':') + 1),
         "MF_METADATA_DB_USER=postgres", "MF_METADATA_DB_PSWD=unused",
         "MF_METADATA_DB_NAME=" + name, "MF_METADATA_DB_SSL_MODE=require"});
    ASSERT_TRUE(server.wait_until_serving(port)) << server.log();
    HttpClient client(port);
    EXPECT_EQ(client.post("/flows/TlsFlow", "{}").status, 200u);

    pg::BlockingConnection db(url);
    auto encrypted = db.execute(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE "
        "a.datname = $1 AND s.ssl AND a.pid != pg_backend_pid()",
        {name});
    EXPECT_GE(encrypted.int64(0, 0), 1);
}

// The connections the server holds on database `name`, as PostgreSQL lists them.
std::int64_t server_connections(pg::BlockingConnection& db, const std::string& name) {
    return db
        .execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid != "
            "pg_backend_pid()",
            {name})
        .int64(0, 0);
}

TEST(PostgresEnvironmentTest, PoolMinOpensThatManyConnectionsPerWorkerAtStart) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TempDir dir;
    TestDatabase database(dir.path());
    const std::string name = between(database.url().substr(database.url().find('@')), "/", "?");
    pg::BlockingConnection db(database.url());

    const std::uint16_t port = free_port();
    ServiceProcess server({"serve", "--host", "127.0.0.1", "--port", std::to_string(port),
                           "--migration-port", "0", "--threads", "2", "--database", database.url()},
                          (dir.path() / "server.log").string(),
                          {"MF_METADATA_DB_POOL_MIN=3", "MF_METADATA_DB_POOL_MAX=5"});
    ASSERT_TRUE(server.wait_until_serving(port)) << server.log();
    // Opened before any request asks: 3 for each of the 2 worker threads.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (server_connections(db, name) < 6 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(server_connections(db, name), 6) << server.log();

    const std::uint16_t refused_port = free_port();
    ServiceProcess refused({"serve", "--host", "127.0.0.1", "--port", std::to_string(refused_port),
                            "--migration-port", "0", "--database", database.url()},
                           (dir.path() / "refused.log").string(),
                           {"MF_METADATA_DB_POOL_MIN=6", "MF_METADATA_DB_POOL_MAX=5"});
    const auto status = refused.wait_for_exit(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value());
    EXPECT_NE(*status, 0);
    EXPECT_NE(refused.log().find("MF_METADATA_DB_POOL_MIN (6) is above"), std::string::npos)
        << refused.log();
}

}  // namespace
}  // namespace mf::testing
