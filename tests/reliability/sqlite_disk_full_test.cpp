// A full disk under the SQLite file: the service is run on a small tmpfs that the test
// mounts (root only; skipped otherwise) and filled up. Writes then get a JSON 507, reads go
// on, nothing acknowledged is lost, the file stays intact, and writes succeed again once
// space is freed.

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "reliability/sqlite_support.hpp"
#include "support/process.hpp"

namespace mf::testing::reliability {
namespace {

namespace fs = std::filesystem;

// A tmpfs of `megabytes` at `where`, unmounted at destruction.
class SmallFilesystem {
public:
    SmallFilesystem(fs::path where, int megabytes) : where_(std::move(where)) {
        fs::create_directories(where_);
        std::string options = "size=" + std::to_string(megabytes) + "m";
        if (::mount("tmpfs", where_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
            error_ = std::strerror(errno);
        } else {
            mounted_ = true;
        }
    }
    ~SmallFilesystem() {
        if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }

private:
    fs::path where_;
    bool mounted_ = false;
    std::string error_;
};

// Writes 64 KiB blocks to `path` until the filesystem refuses; returns the bytes written.
std::size_t fill(const fs::path& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) return 0;
    std::string block(64 * 1024, 'b');
    std::size_t written = 0;
    for (int i = 0; i < 100000; ++i) {
        auto n = std::fwrite(block.data(), 1, block.size(), file);
        written += n;
        if (n < block.size() || std::fflush(file) != 0) break;
    }
    std::fclose(file);
    return written;
}

std::string metadata_body(int index) {
    boost::json::array items;
    items.push_back({{"field_name", "field" + std::to_string(index)},
                     {"value", std::string(4096, 'v')},
                     {"type", "t"},
                     {"user_name", "full"},
                     {"tags", boost::json::array{"attempt_id:0"}}});
    return boost::json::serialize(items);
}

TEST(SqliteDiskFull, WritesGetJson507ThenSucceedOnceSpaceIsFreed) {
    if (postgres_pass()) GTEST_SKIP() << "runs the binary on SQLite itself";
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small filesystem needs root";
    TempDir dir;
    SmallFilesystem disk(dir.path() / "disk", 4);
    if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
    const auto path = (dir.path() / "disk" / "metadata.db").string();
    const auto ballast = dir.path() / "disk" / "ballast";
    const std::string flow = "FullFlow";

    auto port = free_port();
    ServiceProcess service(
        {"serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--database",
         "sqlite:" + path, "--threads", "2", "--log-level", "warning"},
        (dir.path() / "service.log").string());
    ASSERT_TRUE(service.wait_until_serving(port)) << service.log();
    HttpClient client(port);
    ASSERT_EQ(client.post("/flows/" + flow, R"({"user_name": "full"})").status, 200u);
    auto run = client.post("/flows/" + flow + "/run", R"({"user_name": "full"})");
    ASSERT_EQ(run.status, 200u);
    auto run_url =
        "/flows/" + flow + "/runs/" + std::to_string(number_of(run.json().at("run_number")));
    ASSERT_EQ(client.post(run_url + "/steps/start/step", R"({"user_name": "full"})").status, 200u);
    auto task = client.post(run_url + "/steps/start/task", R"({"user_name": "full"})");
    ASSERT_EQ(task.status, 200u);
    auto task_id = number_of(task.json().at("task_id"));
    auto task_url = run_url + "/steps/start/tasks/" + std::to_string(task_id);

    Acknowledged acked;
    auto write = [&](int index) {
        auto reply = client.post(task_url + "/metadata", metadata_body(index));
        if (reply.status / 100 == 2)
            acked.metadata.emplace(task_id, "field" + std::to_string(index));
        return reply;
    };

    int index = 0;
    for (; index < 20; ++index) ASSERT_EQ(write(index).status, 200u);

    // Fill the disk, then write until the database needs space it cannot get (the WAL
    // may first reuse space it already has).
    auto filled = fill(ballast);
    ASSERT_GT(filled, 0u);
    int before_full = index;
    HttpResponse refused;
    for (; index < before_full + 5000; ++index) {
        refused = write(index);
        if (refused.status / 100 != 2) break;
    }
    ASSERT_TRUE(refused.status == 507 || refused.status == 503)
        << "after " << index - before_full << " writes on a full disk: " << refused.status << " "
        << refused.body;
    auto problem = refused.json();
    ASSERT_TRUE(problem.is_object()) << refused.body;
    EXPECT_EQ(problem.at("status").to_number<unsigned>(), refused.status);
    std::printf("disk full after %d more writes: %u %s\n", index - before_full, refused.status,
                refused.body.c_str());

    // Still full: writes keep being refused cleanly, reads go on.
    for (int again = 0; again < 5; ++again) {
        auto reply = write(++index);
        EXPECT_TRUE(reply.status == 507 || reply.status == 503) << reply.status << reply.body;
    }
    EXPECT_EQ(client.get(task_url).status, 200u);
    EXPECT_EQ(client.get("/ping").status, 200u);

    // Space freed: writes succeed again, without a restart.
    fs::remove(ballast);
    int succeeded = 0;
    for (int attempt = 0; attempt < 20 && succeeded < 10; ++attempt) {
        succeeded += write(++index).status / 100 == 2;
    }
    EXPECT_EQ(succeeded, 10) << service.log();

    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_for_exit(std::chrono::seconds(20)), std::optional<int>(0));
    Database database(path);
    auto checked = database.check(flow, acked);
    std::printf("%zu acknowledged writes checked after the disk was full\n", checked);
    EXPECT_GE(checked, 30u);  // 20 before the disk filled, 10 after it was freed
}

}  // namespace
}  // namespace mf::testing::reliability
