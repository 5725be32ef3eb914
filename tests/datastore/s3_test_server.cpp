#include "datastore/s3_test_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "datastore/http_fetch.hpp"
#include "datastore/trace_support.hpp"
#include "support/process.hpp"

extern char** environ;

namespace mf::datastore::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

S3Server::S3Server() {
    folder_ = std::filesystem::temp_directory_path() / ("mf-s3-" + std::to_string(getpid()) + "-" +
                                                        std::to_string(mf::testing::free_port()));
    std::filesystem::create_directories(folder_ / "objects");
    port = mf::testing::free_port();
    credentials_port = mf::testing::free_port();
    std::string script =
        (std::filesystem::path(MF_TEST_FIXTURES).parent_path() / "datastore" / "s3_server.mjs")
            .string();
    std::vector<std::string> arguments = {
        "node", script, "--port", std::to_string(port), "--credentials-port",
        std::to_string(credentials_port), "--dir", (folder_ / "objects").string(), "--seed",
        fixture_root().string(), "--bucket", kS3Bucket, "--prefix", kS3Prefix, "--key-id", kS3KeyId,
        "--secret", kS3Secret,
        // Shorter than the chain's refresh margin: each use fetches them again.
        "--token-expires-in", "300"};
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    log_ = folder_ / "server.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int error = posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("cannot start node");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        if (read_file(log_).find("ready") != std::string::npos) return;
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the S3 server did not start: " + read_file(log_));
}

S3Server::~S3Server() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
}

int S3Server::credentials_handed_out() const {
    auto answer =
        http_fetch({.url = "http://127.0.0.1:" + std::to_string(credentials_port) + "/count"});
    return answer.ok() ? std::stoi(answer->body) : -1;
}

}  // namespace mf::datastore::testing
