// The real binary on a SQLite file, SIGKILLed again and again in the middle of a heavy
// write load: after each kill the file passes PRAGMA integrity_check and holds every write
// that a client saw acknowledged.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "reliability/sqlite_support.hpp"
#include "support/process.hpp"

namespace mf::testing::reliability {
namespace {

constexpr int kKills = 8;
constexpr int kClients = 6;

TEST(SqliteKill, EveryAcknowledgedWriteSurvivesSigkillAndTheFileStaysIntact) {
    if (postgres_pass()) GTEST_SKIP() << "runs the binary on SQLite itself";
    TempDir dir;
    const std::string path = (dir.path() / "metadata.db").string();
    const std::string flow = "KillFlow";
    Acknowledged acked;
    std::mt19937 random(20261125);
    std::size_t previous = 0;
    for (int kill = 1; kill <= kKills; ++kill) {
        auto port = free_port();
        ServiceProcess service(
            {"serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--database",
             "sqlite:" + path, "--threads", "2", "--log-level", "warning"},
            (dir.path() / ("service-" + std::to_string(kill) + ".log")).string());
        ASSERT_TRUE(service.wait_until_serving(port)) << service.log();
        if (kill == 1) {
            ASSERT_EQ(HttpClient(port).post("/flows/" + flow, R"({"user_name": "kill"})").status,
                      200u);
        } else {
            // The restarted service serves what the last one acknowledged.
            std::int64_t run;
            {
                std::lock_guard lock(acked.mutex);
                run = *acked.runs.rbegin();
            }
            EXPECT_EQ(
                HttpClient(port).get("/flows/" + flow + "/runs/" + std::to_string(run)).status,
                200u);
        }

        std::atomic<bool> stop{false};
        std::atomic<int> failed_clients{0};
        std::vector<std::thread> clients;
        for (int c = 0; c < kClients; ++c) {
            clients.emplace_back([&, c] {
                Writes writes{port, flow, c, acked, stop};
                try {
                    writes.run();
                } catch (const std::exception&) {
                    ++failed_clients;  // the server died under this client: expected
                }
            });
        }
        // Let the load build up (at least 100 acknowledged writes, at most 10 s, so that a
        // slow sanitizer build gets there too), then kill mid-write at a random moment.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (acked.total() < previous + 100 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::uniform_int_distribution<int> delay_ms(0, 400);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
        auto before_kill = acked.total();
        service.signal(SIGKILL);
        auto status = service.wait_for_exit(std::chrono::seconds(10));
        ASSERT_EQ(status, std::optional<int>(128 + SIGKILL));
        stop = true;
        for (auto& client : clients) client.join();

        auto total = acked.total();
        EXPECT_GT(before_kill, previous) << "no write was acknowledged before kill " << kill;
        Database database(path);
        auto checked = database.check(flow, acked);
        std::printf(
            "kill %d: %zu writes acknowledged since the last kill, %zu checked in all, "
            "%d clients cut off\n",
            kill, total - previous, checked, failed_clients.load());
        previous = total;
        if (HasFailure()) return;
    }
}

}  // namespace
}  // namespace mf::testing::reliability
