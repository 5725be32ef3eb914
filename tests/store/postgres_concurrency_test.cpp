// Four server processes on one PostgreSQL database, all writing to one flow at once: run
// numbers and task ids stay unique, no write is lost and tag mutations stay atomic. The
// servers also start together, so their migrations of the empty database race too.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

constexpr int kServers = 4;
constexpr int kRunsPerServer = 20;
constexpr int kTasksPerRun = 3;
constexpr int kTagsPerServer = 10;

struct Written {
    std::vector<std::int64_t> run_numbers;
    std::vector<std::int64_t> task_ids;
    std::vector<std::string> tags;
    std::vector<std::string> failures;
};

// Adds `tag` to the shared run, retrying on 409 as the Metaflow client does.
bool add_tag(HttpClient& client, const std::string& tag) {
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto reply = client.patch("/flows/SharedFlow/runs/shared/tag/mutate",
                                  R"({"tags_to_add": [")" + tag + R"("]})");
        if (reply.status == 200) return true;
        if (reply.status != 409) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    }
    return false;
}

void write_from(std::uint16_t port, int server, Written& written) {
    HttpClient client(port);
    for (int i = 0; i < kRunsPerServer; ++i) {
        auto run = client.post("/flows/SharedFlow/run", R"({"user_name": "u"})");
        if (run.status != 200) {
            written.failures.push_back("run: " + std::to_string(run.status) + " " + run.body);
            continue;
        }
        const std::int64_t run_number = run.json().at("run_number").as_int64();
        written.run_numbers.push_back(run_number);
        const std::string run_path = "/flows/SharedFlow/runs/" + std::to_string(run_number);
        auto step = client.post(run_path + "/steps/start/step", R"({"user_name": "u"})");
        if (step.status != 200) written.failures.push_back("step: " + step.body);
        for (int t = 0; t < kTasksPerRun; ++t) {
            auto task = client.post(run_path + "/steps/start/task", R"({"user_name": "u"})");
            if (task.status != 200) {
                written.failures.push_back("task: " + task.body);
                continue;
            }
            written.task_ids.push_back(task.json().at("task_id").as_int64());
        }
        if (i < kTagsPerServer) {
            std::string tag = "s" + std::to_string(server) + "_" + std::to_string(i);
            if (add_tag(client, tag)) {
                written.tags.push_back(tag);
            } else {
                written.failures.push_back("tag " + tag);
            }
        }
    }
}

TEST(PostgresConcurrencyTest, FourServersWritingOneFlowLoseNothing) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TempDir dir;
    TestDatabase database(dir.path());
    std::vector<std::uint16_t> ports;
    std::vector<std::unique_ptr<ServiceProcess>> servers;
    for (int i = 0; i < kServers; ++i) {
        ports.push_back(free_port());
        servers.push_back(std::make_unique<ServiceProcess>(
            std::vector<std::string>{"serve", "--host", "127.0.0.1", "--port",
                                     std::to_string(ports.back()), "--threads", "2",
                                     "--migration-port", "0", "--database", database.url()},
            (dir.path() / ("server" + std::to_string(i) + ".log")).string(),
            std::vector<std::string>{"MF_METADATA_DB_POOL_MAX=4"}));
    }
    for (int i = 0; i < kServers; ++i) {
        ASSERT_TRUE(servers[i]->wait_until_serving(ports[i], std::chrono::seconds(30)))
            << servers[i]->log();
    }
    HttpClient setup(ports[0]);
    ASSERT_EQ(setup.post("/flows/SharedFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(
        setup.post("/flows/SharedFlow/run", R"({"user_name": "u", "run_number": "shared"})").status,
        200u);

    std::vector<Written> written(kServers);
    std::vector<std::thread> writers;
    for (int i = 0; i < kServers; ++i)
        writers.emplace_back(write_from, ports[i], i, std::ref(written[i]));
    for (auto& writer : writers) writer.join();

    std::multiset<std::int64_t> run_numbers;
    std::multiset<std::int64_t> task_ids;
    std::set<std::string> tags;
    for (const auto& each : written) {
        EXPECT_TRUE(each.failures.empty()) << each.failures.front();
        run_numbers.insert(each.run_numbers.begin(), each.run_numbers.end());
        task_ids.insert(each.task_ids.begin(), each.task_ids.end());
        tags.insert(each.tags.begin(), each.tags.end());
    }
    EXPECT_EQ(run_numbers.size(), std::size_t{kServers * kRunsPerServer});
    EXPECT_EQ(std::set<std::int64_t>(run_numbers.begin(), run_numbers.end()).size(),
              run_numbers.size());
    EXPECT_EQ(task_ids.size(), std::size_t{kServers * kRunsPerServer * kTasksPerRun});
    EXPECT_EQ(std::set<std::int64_t>(task_ids.begin(), task_ids.end()).size(), task_ids.size());

    auto counts = database.row_counts();
    EXPECT_EQ(counts["runs_v3"], kServers * kRunsPerServer + 1);
    EXPECT_EQ(counts["tasks_v3"], kServers * kRunsPerServer * kTasksPerRun);
    // Every acknowledged tag is there: no mutation overwrote another's.
    auto shared = setup.get("/flows/SharedFlow/runs/shared").json();
    std::set<std::string> stored;
    for (const auto& tag : shared.at("tags").as_array())
        stored.insert(std::string(tag.as_string()));
    EXPECT_EQ(stored, tags);
    EXPECT_EQ(tags.size(), std::size_t{kServers * kTagsPerServer});
}

}  // namespace
}  // namespace mf::testing
