#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace mf::testing {

// A PostgreSQL cluster of one test's own, for the faults that would disturb other tests on
// the shared one (restarts, a database that is not there yet): initdb into a fresh folder
// under /tmp, on a free loopback port, owned by the `postgres` user when the tests run as
// root, as initdb requires (the same recipe as scripts/pg-cluster.sh). Stopped and removed at
// destruction.
class PrivateCluster {
public:
    // Creates the cluster without starting it; available() says whether that worked.
    PrivateCluster();
    ~PrivateCluster();
    PrivateCluster(const PrivateCluster&) = delete;
    PrivateCluster& operator=(const PrivateCluster&) = delete;

    // False when the server binaries (/usr/lib/postgresql/*/bin) are missing or initdb failed;
    // why() says which.
    bool available() const { return available_; }
    const std::string& why() const { return why_; }

    // pg_ctl start, stop -m fast and restart -m fast, each waiting until done. False (and
    // the server log added to why()) if pg_ctl failed.
    bool start();
    bool stop();
    bool restart();

    std::uint16_t port() const { return port_; }
    // The `postgres` database as superuser, over TCP without TLS.
    std::string url() const;

private:
    bool pg_ctl(const std::string& arguments);

    std::filesystem::path dir_;
    std::string bin_;
    std::uint16_t port_ = 0;
    bool available_ = false;
    std::string why_;
};

}  // namespace mf::testing
