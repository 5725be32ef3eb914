#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/clock.hpp"
#include "support/test_server.hpp"

namespace mf::testing {

// The service with its UI listener over a fresh store of the backend under test (SQLite or
// PostgreSQL), with a manual clock; rows go straight into the database.
class UiTestServer {
public:
    UiTestServer();
    ~UiTestServer();

    // Runs PostgreSQL INSERT statements (one a line, tables schema-qualified or not) on the
    // database, parents first.
    void load_inserts(const std::string& sql_text);
    // One statement on the database, written for both SQL dialects.
    void execute(const std::string& statement);

    HttpClient client() const;
    std::uint16_t ui_port() const;
    HttpClient api_client() const;  // the metadata API's port, with /metrics
    ManualClock& clock();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mf::testing
