// Concurrent reads on one server share PostgreSQL pipelines (pg::Pool::read batches the
// statements of the reads that arrive together), beside unbatched writes: each request still
// gets its own outcome, and a failing statement (a bad pattern) fails only its own request.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

constexpr int kClients = 8;
constexpr int kRounds = 15;

struct Seen {
    std::vector<std::int64_t> task_ids;
    std::vector<std::string> failures;
};

constexpr std::string_view kBadPattern = "filtered_tasks?metadata_field_name=f&pattern=%28";
constexpr std::string_view kGoodPattern = "filtered_tasks?metadata_field_name=f&pattern=v";

void client_rounds(std::uint16_t port, unsigned missing_status, Seen& seen) {
    HttpClient client(port);
    const std::string run = "/flows/BatchFlow/runs/1/steps/";
    for (int round = 0; round < kRounds; ++round) {
        auto created = client.post(run + "start/task", R"({"user_name": "u"})");
        if (created.status != 200) {
            seen.failures.push_back("create: " + created.body);
            continue;
        }
        const auto task_id = created.json().at("task_id").as_int64();
        seen.task_ids.push_back(task_id);
        auto missing = client.post(run + "nosuchstep/task", R"({"user_name": "u"})");
        if (missing.status != missing_status)
            seen.failures.push_back("missing step: " + std::to_string(missing.status));
        auto read = client.get(run + "start/tasks/" + std::to_string(task_id));
        if (read.status != 200 || read.json().at("task_id").as_int64() != task_id)
            seen.failures.push_back("read of " + std::to_string(task_id) + ": " + read.body);
        auto bad = client.get(run + "start/" + std::string(kBadPattern));
        if (bad.status != 400) seen.failures.push_back("bad pattern: " + bad.body);
        auto good = client.get(run + "start/" + std::string(kGoodPattern));
        if (good.status != 200 || good.json().as_array().size() != 1)
            seen.failures.push_back("good pattern: " + good.body);
    }
}

TEST(PostgresBatchTest, ConcurrentRequestsKeepTheirOwnOutcomes) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TestServer server;
    auto setup = server.client();
    ASSERT_EQ(setup.post("/flows/BatchFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup.post("/flows/BatchFlow/run", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(setup.post("/flows/BatchFlow/runs/1/steps/start/step", "{}").status, 200u);
    const std::string step = "/flows/BatchFlow/runs/1/steps/start/";
    ASSERT_EQ(setup.post(step + "task", "{}").status, 200u);
    ASSERT_EQ(setup
                  .post(step + "tasks/1/metadata",
                        R"([{"field_name": "f", "value": "v", "type": "t", "user_name": "u"}])")
                  .status,
              200u);
    // What a bad pattern answers alone, when its statement shares a pipeline with nobody.
    ASSERT_EQ(setup.get(step + std::string(kBadPattern)).status, 400u);
    // What a failing create answers alone, when it shares a pipeline with nobody.
    const unsigned missing_status =
        setup.post("/flows/BatchFlow/runs/1/steps/nosuchstep/task", "{}").status;
    ASSERT_GE(missing_status, 400u);
    ASSERT_LT(missing_status, 500u);

    std::vector<Seen> seen(kClients);
    std::vector<std::thread> clients;
    for (auto& each : seen)
        clients.emplace_back(client_rounds, server.port(), missing_status, std::ref(each));
    for (auto& client : clients) client.join();

    std::set<std::int64_t> task_ids;
    for (const auto& each : seen) {
        EXPECT_TRUE(each.failures.empty()) << each.failures.front();
        task_ids.insert(each.task_ids.begin(), each.task_ids.end());
    }
    EXPECT_EQ(task_ids.size(), std::size_t{kClients * kRounds});
    EXPECT_EQ(server.row_counts()["tasks_v3"], kClients * kRounds + 1);
}

}  // namespace
}  // namespace mf::testing
