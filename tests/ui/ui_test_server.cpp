#include "ui/ui_test_server.hpp"

#include <sqlite3.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "store/open.hpp"
#include "store/postgres/pg_connection.hpp"
#include "support/test_database.hpp"

namespace mf::testing {
namespace {

// Parents before children, so that foreign keys hold as rows arrive.
constexpr const char* kTableOrder[] = {"flows_v3", "runs_v3",     "steps_v3",
                                       "tasks_v3", "metadata_v3", "artifact_v3"};

std::string without_schema(std::string statement) {
    const std::string prefix = "INSERT INTO public.";
    if (statement.starts_with(prefix)) statement.erase(12, 7);
    return statement;
}

std::string table_of(const std::string& statement) {
    const std::string prefix = "INSERT INTO ";
    const auto end = statement.find(' ', prefix.size());
    return statement.substr(prefix.size(), end - prefix.size());
}

}  // namespace

TestServerOptions ui_server_options() {
    TestServerOptions options;
    options.manual_clock = true;
    options.ui = true;
    return options;
}

struct UiTestServer::Impl {
    TestServer server{ui_server_options()};

    void run_script(const std::string& script) {
        const std::string url = server.database_url();
        if (testing_postgres()) {
            pg::BlockingConnection connection(url);
            connection.execute(script);
            return;
        }
        sqlite3* db = nullptr;
        const std::string path = *sqlite_path(url);
        if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
        sqlite3_busy_timeout(db, 5000);
        char* error = nullptr;
        const int rc = sqlite3_exec(db, script.c_str(), nullptr, nullptr, &error);
        const std::string message = error ? error : "";
        sqlite3_free(error);
        sqlite3_close(db);
        if (rc != SQLITE_OK) throw std::runtime_error("SQLite: " + message);
    }
};

UiTestServer::UiTestServer() : impl_(std::make_unique<Impl>()) {}

UiTestServer::~UiTestServer() = default;

void UiTestServer::load_inserts(const std::string& sql_text) {
    std::map<std::string, std::string> by_table;
    std::istringstream lines(sql_text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.starts_with("INSERT INTO ")) continue;
        line = without_schema(line);
        by_table[table_of(line)] += line + "\n";
    }
    std::string script = "BEGIN;\n";
    for (const char* table : kTableOrder) script += by_table[table];
    script += "COMMIT;\n";
    impl_->run_script(script);
}

void UiTestServer::execute(const std::string& statement) {
    impl_->run_script(statement);
}

HttpClient UiTestServer::client() const {
    return impl_->server.ui_client();
}

std::uint16_t UiTestServer::ui_port() const {
    return impl_->server.ui_port();
}

HttpClient UiTestServer::api_client() const {
    return impl_->server.client();
}

ManualClock& UiTestServer::clock() {
    return impl_->server.clock();
}

}  // namespace mf::testing
