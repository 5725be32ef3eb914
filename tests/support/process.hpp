#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mf::testing {

// The real metadata-service binary as a child process, for what only a process shows:
// signals, exit codes, command-line parsing.
class ServiceProcess {
public:
    // Runs MF_BINARY with `arguments`; its output goes to `log_path`.
    ServiceProcess(std::vector<std::string> arguments, std::string log_path,
                   std::vector<std::string> environment = {});
    ~ServiceProcess();  // SIGKILLs the process if it still runs

    // Polls GET /ping on 127.0.0.1:port until it answers or the timeout passes.
    bool wait_until_serving(std::uint16_t port,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    void signal(int number) const;
    // The exit status, or nullopt if it did not exit within the timeout.
    std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
    std::string log() const;

private:
    pid_t pid_ = -1;
    std::string log_path_;
    std::optional<int> exit_status_;
};

// A loopback port that nothing listens on at the moment of the call.
std::uint16_t free_port();

// Runs a shell command; returns its exit status and fills `output` with stdout.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace mf::testing
