// PostgreSQL faults, each on a private cluster of its own so that the shared one other tests
// use is never disturbed: the database restarted under a write load, down
// when the service starts, and a statement that hangs on a lock. Each runs in the suite's
// PostgreSQL pass only, where the server binaries are known to be installed.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "reliability/write_load.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"
#include "support/private_cluster.hpp"
#include "support/process.hpp"

namespace mf::testing::reliability {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t milliseconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// The 503 of a database outage: a JSON problem body the Metaflow client can show, and a hint
// to retry.
void expect_unavailable(const HttpResponse& reply) {
    EXPECT_EQ(reply.status, 503u) << reply.body;
    boost::system::error_code ec;
    auto body = boost::json::parse(reply.body, ec);
    ASSERT_FALSE(ec) << "not JSON: " << reply.body;
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_TRUE(body.as_object().contains("detail")) << reply.body;
    EXPECT_EQ(reply.header("retry-after"), "1");
}

// The service binary on `url`, with a free API and migration port.
struct Service {
    std::uint16_t port = free_port();
    ServiceProcess process;

    // Two worker threads unless `extra_arguments` says otherwise.
    Service(const std::string& url, const TempDir& dir, std::vector<std::string> environment = {},
            std::vector<std::string> extra_arguments = {"--threads", "2"})
        : process(arguments(url, extra_arguments), (dir.path() / "service.log").string(),
                  std::move(environment)) {}

    std::vector<std::string> arguments(const std::string& url,
                                       const std::vector<std::string>& extra) const {
        std::vector<std::string> all{"serve",
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--migration-port",
                                     "0",
                                     "--database",
                                     url,
                                     "--log-level",
                                     "warning"};
        all.insert(all.end(), extra.begin(), extra.end());
        return all;
    }
};

std::int64_t count(pg::BlockingConnection& db, const std::string& sql) {
    return db.execute(sql).int64(0, 0);
}

// Every acknowledged write of `acked` on `flow` is in the database, and no object lacks the
// one it belongs to (foreign keys cover runs, steps and tasks; metadata and artifacts have
// none, so they are checked here), nor holds half of a batch. Returns the writes checked.
std::size_t check_database(const std::string& url, const std::string& flow, Acknowledged& acked) {
    pg::BlockingConnection db(url);
    const auto missing = missing_writes(acked, [&](const std::string& sql) {
        auto rows = db.execute(sql + " WHERE flow_id = $1", {flow});
        std::set<std::string> items;
        for (int row = 0; row < rows.size(); ++row) {
            std::string item = rows.text(row, 0);
            if (rows.columns() > 1) item += "|" + rows.text(row, 1);
            items.insert(std::move(item));
        }
        return items;
    });
    EXPECT_EQ(missing, 0u) << "acknowledged writes missing from the database";

    const std::string same_task =
        "t.flow_id = x.flow_id AND t.run_number = x.run_number AND t.step_name = x.step_name AND "
        "t.task_id = x.task_id";
    EXPECT_EQ(count(db,
                    "SELECT count(*) FROM metadata_v3 x WHERE NOT EXISTS (SELECT 1 FROM "
                    "tasks_v3 t WHERE " +
                        same_task + ")"),
              0)
        << "metadata without its task";
    EXPECT_EQ(count(db,
                    "SELECT count(*) FROM artifact_v3 x WHERE NOT EXISTS (SELECT 1 FROM "
                    "tasks_v3 t WHERE " +
                        same_task + ")"),
              0)
        << "artifacts without their task";
    // Each metadata POST carries two records: a task has both or neither.
    EXPECT_EQ(count(db,
                    "SELECT count(*) FROM (SELECT task_id FROM metadata_v3 GROUP BY flow_id, "
                    "run_number, step_name, task_id HAVING count(*) <> 2) half"),
              0)
        << "a metadata batch half written";
    return acked.total();
}

// The advisory lock migrations run under (pg_schema.cpp: "mfmigrat" in ASCII).
const std::string kMigrationLock = "7883446098497636724";

// The value of a sample of /metrics (`name` with its labels, as written), or -1 if absent.
double metric(std::uint16_t port, const std::string& name) {
    const auto text = HttpClient(port).get("/metrics").body;
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
}

#define REQUIRE_PRIVATE_CLUSTER(cluster)                                      \
    if (!postgres_pass()) GTEST_SKIP() << "runs in the PostgreSQL pass only"; \
    if (!(cluster).available()) GTEST_SKIP() << (cluster).why();

TEST(PostgresFaults, RestartUnderWriteLoadLosesNoAcknowledgedWrite) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    ASSERT_TRUE(cluster.start()) << cluster.why();
    TempDir dir;
    Service service(cluster.url(), dir);
    ASSERT_TRUE(service.process.wait_until_serving(service.port)) << service.process.log();
    const std::string flow = "RestartFlow";
    ASSERT_EQ(HttpClient(service.port).post("/flows/" + flow, R"({"user_name": "r"})").status,
              200u);

    constexpr int kClients = 4;
    Acknowledged acked;
    std::atomic<bool> stop{false};
    std::mutex refused_mutex;
    std::vector<HttpResponse> refused;
    Clock::time_point first_refusal = Clock::time_point::max();
    Clock::time_point last_refusal = Clock::time_point::min();
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            Writes writes{service.port, flow, c, acked, stop};
            writes.on_refused = [&](const HttpResponse& reply) {
                std::lock_guard lock(refused_mutex);
                refused.push_back(reply);
                first_refusal = std::min(first_refusal, Clock::now());
                last_refusal = std::max(last_refusal, Clock::now());
            };
            try {
                writes.run();
            } catch (const std::exception& e) {
                // The service stays up through the outage: a dropped connection is a failure.
                ADD_FAILURE() << "client " << c << ": " << e.what();
                stop = true;
            }
        });
    }
    auto wait_for_writes = [&](std::size_t more) {
        const std::size_t target = acked.total() + more;
        const auto deadline = Clock::now() + std::chrono::seconds(20);
        while (acked.total() < target && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return acked.total() >= target;
    };
    EXPECT_TRUE(wait_for_writes(100));
    const std::size_t before_restart = acked.total();
    const auto restart_began = Clock::now();
    const bool restarted = cluster.restart();
    const auto restart_ended = Clock::now();
    EXPECT_TRUE(restarted) << cluster.why();
    // The pool reconnects by itself: writes are acknowledged again, by the same process.
    EXPECT_TRUE(wait_for_writes(200)) << service.process.log();
    stop = true;
    for (auto& client : clients) client.join();

    EXPECT_FALSE(service.process.wait_for_exit(std::chrono::milliseconds(0)).has_value())
        << "the service exited: " << service.process.log();
    EXPECT_FALSE(refused.empty()) << "no request met the outage";
    for (const auto& reply : refused) expect_unavailable(reply);
    const std::size_t checked = check_database(cluster.url(), flow, acked);
    const auto outage_ms = refused.empty() ? 0 : milliseconds_between(first_refusal, last_refusal);
    std::printf(
        "[figures] PostgreSQL restart (pg_ctl restart -m fast): %lld ms; 503 seen for %lld ms by "
        "%d clients; %zu requests answered 503; %zu acknowledged writes (%zu before the restart) "
        "all in the database\n",
        static_cast<long long>(milliseconds_between(restart_began, restart_ended)),
        static_cast<long long>(outage_ms), kClients, refused.size(), checked, before_restart);
}

TEST(PostgresFaults, ServiceStartsBeforeItsDatabaseAndServesOnceItIsUp) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    TempDir dir;
    // One attempt at startup, then a retry every second in the background.
    Service service(
        cluster.url(), dir,
        {"MF_SERVICE_CONNECTION_RETRIES=1", "MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS=1"});
    ASSERT_TRUE(service.process.wait_until_serving(service.port)) << service.process.log();
    HttpClient http(service.port);
    auto ready = http.get("/ready");
    EXPECT_EQ(ready.status, 503u);
    EXPECT_EQ(ready.body, R"({"status": "database unavailable"})");
    auto health = http.get("/healthcheck");
    EXPECT_EQ(health.status, 503u);
    EXPECT_EQ(health.body, R"("{\"status\": \"DOWN\"}")");
    expect_unavailable(http.post("/flows/EarlyFlow", R"({"user_name": "e"})"));
    expect_unavailable(http.get("/flows"));

    ASSERT_TRUE(cluster.start()) << cluster.why();
    const auto came_up = Clock::now();
    const auto deadline = came_up + std::chrono::seconds(20);
    while (http.get("/ready").status != 200 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto ready_after = milliseconds_between(came_up, Clock::now());
    ASSERT_EQ(http.get("/ready").status, 200u) << service.process.log();
    EXPECT_EQ(http.get("/healthcheck").status, 200u);
    // The empty database was migrated, and the API works, without a restart.
    EXPECT_EQ(http.post("/flows/EarlyFlow", R"({"user_name": "e"})").status, 200u);
    auto run = http.post("/flows/EarlyFlow/run", R"({"user_name": "e"})");
    EXPECT_EQ(run.status, 200u) << run.body;
    EXPECT_EQ(http.get("/flows/EarlyFlow/runs").status, 200u);
    pg::BlockingConnection db(cluster.url());
    EXPECT_EQ(count(db, "SELECT max(version_id) FROM goose_db_version"),
              pg::known_versions().back())
        << "the schema is not at the reference's last version";
    EXPECT_FALSE(service.process.wait_for_exit(std::chrono::milliseconds(0)).has_value());
    std::printf("[figures] database started after the service: ready %lld ms later\n",
                static_cast<long long>(ready_after));
}

TEST(PostgresFaults, StatementHungOnALockIsCutByTheStatementTimeout) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    ASSERT_TRUE(cluster.start()) << cluster.why();
    TempDir dir;
    // One connection in all, so that the request after the timeout runs on the one that
    // timed out (or on its replacement, if it had been lost).
    Service service(cluster.url(), dir, {"MF_METADATA_DB_POOL_MAX=1"},
                    {"--threads", "1", "--db-statement-timeout", "0.5"});
    ASSERT_TRUE(service.process.wait_until_serving(service.port)) << service.process.log();
    HttpClient http(service.port);
    ASSERT_EQ(http.post("/flows/LockFlow", R"({"user_name": "l"})").status, 200u);
    ASSERT_EQ(http.post("/flows/LockFlow/run", R"({"user_name": "l"})").status, 200u);

    pg::BlockingConnection locker(cluster.url());
    locker.execute("BEGIN");
    locker.execute("LOCK TABLE runs_v3 IN ACCESS EXCLUSIVE MODE");
    const auto sent = Clock::now();
    auto blocked_write = http.post("/flows/LockFlow/run", R"({"user_name": "l"})");
    const auto write_ms = milliseconds_between(sent, Clock::now());
    expect_unavailable(blocked_write);
    expect_unavailable(http.get("/flows/LockFlow/runs/1"));
    locker.execute("ROLLBACK");

    auto after = http.post("/flows/LockFlow/run", R"({"user_name": "l"})");
    EXPECT_EQ(after.status, 200u) << after.body;
    EXPECT_EQ(http.get("/flows/LockFlow/runs/1").status, 200u);
    // Nothing of the cancelled statement remains: the two acknowledged runs only.
    pg::BlockingConnection db(cluster.url());
    EXPECT_EQ(count(db, "SELECT count(*) FROM runs_v3 WHERE flow_id = 'LockFlow'"), 2);
    std::printf(
        "[figures] statement timeout 0.5 s: a write blocked by a lock answered 503 in %lld ms\n",
        static_cast<long long>(write_ms));
}

TEST(PostgresFaults, SigtermEndsAServiceWaitingForAnotherProcesssMigrations) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    ASSERT_TRUE(cluster.start()) << cluster.why();
    // Another process migrating the empty database, for as long as a CREATE INDEX
    // CONCURRENTLY on a big table would take.
    pg::BlockingConnection migrating(cluster.url());
    ASSERT_TRUE(
        migrating.execute("SELECT pg_try_advisory_lock(" + kMigrationLock + ")").boolean(0, 0));
    TempDir dir;
    Service service(
        cluster.url(), dir,
        {"MF_SERVICE_CONNECTION_RETRIES=1", "MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS=1"});
    ASSERT_TRUE(service.process.wait_until_serving(service.port)) << service.process.log();
    HttpClient http(service.port);
    EXPECT_EQ(http.get("/ready").status, 503u);
    // Past the startup attempts: the wait for the lock goes on in the background.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(http.get("/ready").status, 503u);

    const auto signalled = Clock::now();
    service.process.signal(SIGTERM);
    const auto status = service.process.wait_for_exit(std::chrono::seconds(5));
    ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM: " << service.process.log();
    EXPECT_EQ(*status, 0) << service.process.log();
    std::printf(
        "[figures] SIGTERM while waiting for another process's migrations: exited in %lld ms\n",
        static_cast<long long>(milliseconds_between(signalled, Clock::now())));
}

TEST(PostgresFaults, ConnectionLostWhilePreparingTheSchemaIsRetried) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    ASSERT_TRUE(cluster.start()) << cluster.why();
    pg::BlockingConnection migrating(cluster.url());
    ASSERT_TRUE(
        migrating.execute("SELECT pg_try_advisory_lock(" + kMigrationLock + ")").boolean(0, 0));
    const std::string migrating_pid = migrating.execute("SELECT pg_backend_pid()").text(0, 0);
    TempDir dir;
    // Startup waits up to 2 x 3 s for the lock, in the same session that read the schema's
    // state: long enough to find that session and end it.
    Service service(
        cluster.url(), dir,
        {"MF_SERVICE_CONNECTION_RETRIES=2", "MF_SERVICE_CONNECTION_RETRY_WAITTIME_SECONDS=3"});
    pg::BlockingConnection admin(cluster.url());
    const std::string preparing =
        "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_try_advisory_lock%' AND "
        "pid NOT IN (pg_backend_pid(), " +
        migrating_pid + ")";
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    std::string preparing_pid;
    while (preparing_pid.empty() && Clock::now() < deadline) {
        auto rows = admin.execute(preparing);
        if (!rows.empty()) {
            preparing_pid = rows.text(0, 0);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ASSERT_FALSE(preparing_pid.empty()) << service.process.log();
    admin.execute("SELECT pg_terminate_backend(" + preparing_pid + ")");

    // The process lives on: it serves 503 while the lock is held, then, once it is free,
    // migrates and serves.
    ASSERT_TRUE(service.process.wait_until_serving(service.port, std::chrono::seconds(30)))
        << service.process.log();
    HttpClient http(service.port);
    EXPECT_EQ(http.get("/ready").status, 503u);
    migrating.execute("SELECT pg_advisory_unlock(" + kMigrationLock + ")");
    const auto ready_by = Clock::now() + std::chrono::seconds(20);
    while (http.get("/ready").status != 200 && Clock::now() < ready_by)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(http.get("/ready").status, 200u) << service.process.log();
    EXPECT_EQ(http.post("/flows/AfterLoss", R"({"user_name": "l"})").status, 200u);
    EXPECT_NE(service.process.log().find("lost the connection"), std::string::npos)
        << service.process.log();
}

TEST(PostgresFaults, MetricsShowThePoolAndTheDatabaseErrors) {
    PrivateCluster cluster;
    REQUIRE_PRIVATE_CLUSTER(cluster);
    ASSERT_TRUE(cluster.start()) << cluster.why();
    TempDir dir;
    // One loop with two connections at most, and statements cut after 2 s.
    Service service(cluster.url(), dir, {"MF_METADATA_DB_POOL_MAX=2"},
                    {"--threads", "1", "--db-statement-timeout", "2"});
    ASSERT_TRUE(service.process.wait_until_serving(service.port)) << service.process.log();
    HttpClient http(service.port);
    ASSERT_EQ(http.post("/flows/PoolFlow", R"({"user_name": "p"})").status, 200u);
    EXPECT_GE(metric(service.port, "mf_db_pool_connections_open"), 1);
    EXPECT_GE(metric(service.port, "mf_db_pool_connections_idle"), 1);
    EXPECT_EQ(metric(service.port, "mf_db_pool_requests_waiting"), 0);
    EXPECT_EQ(metric(service.port, R"(mf_db_errors_total{kind="timeout"})"), 0);
    EXPECT_EQ(metric(service.port, R"(mf_db_errors_total{kind="unavailable"})"), 0);

    // Three writes blocked by a lock: two hold both connections, the third waits for one.
    // (Flows, because their creates each take a connection of their own rather than share a
    // transaction with the loop's other creates.)
    pg::BlockingConnection locker(cluster.url());
    locker.execute("BEGIN");
    locker.execute("LOCK TABLE flows_v3 IN ACCESS EXCLUSIVE MODE");
    std::vector<std::thread> writers;
    std::vector<unsigned> statuses(3);
    for (int w = 0; w < 3; ++w) {
        writers.emplace_back([&, w] {
            statuses[w] = HttpClient(service.port)
                              .post("/flows/Blocked" + std::to_string(w), R"({"user_name": "p"})")
                              .status;
        });
    }
    double waiting = 0;
    double idle = -1;
    const auto deadline = Clock::now() + std::chrono::milliseconds(1500);
    while (waiting < 1 && Clock::now() < deadline) {
        waiting = metric(service.port, "mf_db_pool_requests_waiting");
        idle = metric(service.port, "mf_db_pool_connections_idle");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(waiting, 1) << "a request waiting for a connection";
    EXPECT_EQ(idle, 0);
    EXPECT_EQ(metric(service.port, "mf_db_pool_connections_open"), 2);
    for (auto& writer : writers) writer.join();
    locker.execute("ROLLBACK");
    for (unsigned status : statuses) EXPECT_EQ(status, 503u);
    EXPECT_GE(metric(service.port, R"(mf_db_errors_total{kind="timeout"})"), 2);
    EXPECT_EQ(metric(service.port, "mf_db_pool_requests_waiting"), 0);

    ASSERT_TRUE(cluster.stop()) << cluster.why();
    expect_unavailable(http.get("/flows/PoolFlow"));
    EXPECT_GE(metric(service.port, R"(mf_db_errors_total{kind="unavailable"})"), 1);
    EXPECT_EQ(metric(service.port, R"(mf_db_errors_total{kind="other"})"), 0);
}

}  // namespace
}  // namespace mf::testing::reliability
