#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/test_server.hpp"

extern char** environ;

namespace mf::testing {

ServiceProcess::ServiceProcess(std::vector<std::string> arguments, std::string log_path,
                               std::vector<std::string> environment)
    : log_path_(std::move(log_path)) {
    arguments.insert(arguments.begin(), MF_BINARY);
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry; ++entry) env_strings.emplace_back(*entry);
    env_strings.insert(env_strings.end(), environment.begin(), environment.end());
    // The UI listener's default port would be shared by every test's process: off unless
    // the test sets it.
    constexpr std::string_view ui_port = "MF_UI_METADATA_PORT=";
    if (std::none_of(env_strings.begin(), env_strings.end(),
                     [&](const std::string& entry) { return entry.starts_with(ui_port); })) {
        env_strings.emplace_back(std::string(ui_port) + "0");
    }
    std::vector<char*> envp;
    for (auto& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    // The child must not inherit the test's blocked signals.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    int error = posix_spawn(&pid_, MF_BINARY, &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) throw std::runtime_error("cannot start " + std::string(MF_BINARY));
}

ServiceProcess::~ServiceProcess() {
    if (!exit_status_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

bool ServiceProcess::wait_until_serving(std::uint16_t port,
                                        std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            HttpClient client(port);
            if (client.get("/ping").status == 200) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

void ServiceProcess::signal(int number) const {
    kill(pid_, number);
}

std::optional<int> ServiceProcess::wait_for_exit(std::chrono::milliseconds timeout) {
    if (exit_status_) return exit_status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return exit_status_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

std::string ServiceProcess::log() const {
    std::ifstream in(log_path_);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

namespace {

// The lowest port the kernel gives to sockets bound without one, outgoing connections included.
std::uint16_t first_ephemeral_port() {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned first = 0;
    if (range >> first && first > 2048 && first <= 65535) return static_cast<std::uint16_t>(first);
    return 32768;
}

}  // namespace

std::uint16_t free_port() {
    // Ports are drawn below the ephemeral range: a port the kernel handed out there could be
    // taken by any test's outgoing connection before the server it was meant for binds it.
    static const std::uint16_t end = first_ephemeral_port();
    static std::mutex mutex;
    static std::mt19937 random(std::random_device{}());
    static std::set<std::uint16_t> handed_out;
    std::lock_guard lock(mutex);
    std::uniform_int_distribution<unsigned> pick(1024, end - 1u);
    boost::asio::io_context io;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto port = static_cast<std::uint16_t>(pick(random));
        if (handed_out.contains(port)) continue;
        boost::asio::ip::tcp::acceptor probe(io);
        boost::system::error_code error;
        probe.open(boost::asio::ip::tcp::v4(), error);
        probe.bind({boost::asio::ip::make_address("127.0.0.1"), port}, error);
        if (error) continue;
        handed_out.insert(port);
        return port;
    }
    throw std::runtime_error("no free loopback port below the ephemeral range");
}

int run_command(const std::string& command, std::string* output) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return -1;
    std::string text;
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
    int status = pclose(pipe);
    if (output) *output = std::move(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace mf::testing
