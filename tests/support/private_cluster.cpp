#include "support/private_cluster.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/process.hpp"

namespace mf::testing {
namespace {

namespace fs = std::filesystem;

// The newest installed PostgreSQL's server binaries; empty when there are none.
std::string server_binaries() {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(entry.path() / "bin" / "pg_ctl")) found.push_back(entry.path() / "bin");
    }
    if (found.empty()) return {};
    // Versions are whole numbers from 10 on: compare them as numbers.
    return std::max_element(found.begin(), found.end(),
                            [](const fs::path& a, const fs::path& b) {
                                return std::atoi(a.parent_path().filename().c_str()) <
                                       std::atoi(b.parent_path().filename().c_str());
                            })
        ->string();
}

bool running_as_root() {
    return geteuid() == 0;
}

// The command run as the cluster's owner.
std::string as_owner(const std::string& command) {
    return running_as_root() ? "runuser -u postgres -- " + command : command;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

PrivateCluster::PrivateCluster() {
    bin_ = server_binaries();
    if (bin_.empty()) {
        why_ = "PostgreSQL server binaries not found under /usr/lib/postgresql";
        return;
    }
    // Under /tmp, whose parents every user can traverse.
    std::string pattern = "/tmp/mf-pgp-XXXXXX";
    if (!mkdtemp(pattern.data())) {
        why_ = "cannot create a folder under /tmp";
        return;
    }
    dir_ = pattern;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    if (running_as_root() && run_command("chown postgres: " + dir_.string()) != 0) {
        why_ = "cannot give " + dir_.string() + " to the postgres user";
        return;
    }
    port_ = free_port();
    std::string output;
    if (run_command(as_owner(bin_ + "/initdb -D " + dir_.string() +
                             "/data -U postgres -A trust -E UTF8 --no-locale --no-sync 2>&1"),
                    &output) != 0) {
        why_ = "initdb failed: " + output;
        return;
    }
    available_ = true;
}

PrivateCluster::~PrivateCluster() {
    if (dir_.empty()) return;
    if (available_) {
        run_command(as_owner(bin_ + "/pg_ctl -D " + dir_.string() +
                             "/data -m immediate stop >/dev/null 2>&1"));
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

bool PrivateCluster::pg_ctl(const std::string& arguments) {
    const std::string dir = dir_.string();
    // Throwaway data: no fsync. Options are given anew on each start, since pg_ctl restart
    // reuses those of the last start only when it finds them.
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                                " -k " + dir + " -c fsync=off";
    const int status =
        run_command(as_owner(bin_ + "/pg_ctl -D " + dir + "/data -l " + dir + "/log -w -t 30 -o '" +
                             options + "' " + arguments + " >/dev/null 2>&1"));
    if (status == 0) return true;
    why_ = "pg_ctl " + arguments + " failed; server log:\n" + read_file(dir_ / "log");
    return false;
}

bool PrivateCluster::start() {
    return pg_ctl("start");
}

bool PrivateCluster::stop() {
    return pg_ctl("-m fast stop");
}

bool PrivateCluster::restart() {
    return pg_ctl("-m fast restart");
}

std::string PrivateCluster::url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres?sslmode=disable";
}

}  // namespace mf::testing
