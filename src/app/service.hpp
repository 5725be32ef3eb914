#pragma once

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "model/clock.hpp"
#include "store/store.hpp"

namespace mf {

// The whole service, wired: the store, the API routes and every listener with its access
// policy, metrics and TLS. main() runs one; tests start one in-process on free ports.
class Service {
public:
    // Opens the store that config.database names. Throws with an operator-facing message
    // on a bad configuration.
    Service(ServeConfig config, const Clock& clock);
    ~Service();

    // Binds every listener; throws if a port is taken.
    void start();
    // Drains and stops every listener, then closes the store.
    void stop();
    // Rereads the API key file (SIGHUP); keeps the old keys and logs if it fails.
    void reload_keys();

    std::uint16_t api_port() const;
    std::uint16_t ui_port() const;         // 0 when the UI listener is off
    std::uint16_t tls_port() const;        // 0 when no separate TLS listener runs
    std::uint16_t metrics_port() const;    // 0 when /metrics is on the API port
    std::uint16_t migration_port() const;  // 0 when the store has no migration API
    Store& store();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mf
