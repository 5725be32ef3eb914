#include "ui/ui_test_server.hpp"

#include <sqlite3.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "http/server.hpp"
#include "store/open.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/ui_reader.hpp"
#include "support/test_database.hpp"
#include "ui/database_routes.hpp"

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

struct UiTestServer::Impl {
    TempDir dir;
    std::unique_ptr<TestDatabase> database = std::make_unique<TestDatabase>(dir.path());
    ManualClock clock{1'700'000'000'000};
    std::unique_ptr<Store> store = open_store(database->url(), clock);
    ui::DatabaseContext context{store->ui_reader(), clock, {}, std::nullopt};
    http::Router router;
    std::unique_ptr<http::Server> server;

    void run_script(const std::string& script) {
        if (testing_postgres()) {
            pg::BlockingConnection connection(database->url());
            connection.execute(script);
            return;
        }
        sqlite3* db = nullptr;
        const std::string path = *sqlite_path(database->url());
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

UiTestServer::UiTestServer() : impl_(std::make_unique<Impl>()) {
    ui::add_database_routes(impl_->router, impl_->context);
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    options.name = "ui";
    impl_->server = std::make_unique<http::Server>(options, impl_->router);
    impl_->server->start();
    impl_->store->warm_up(impl_->server->executors());
}

UiTestServer::~UiTestServer() {
    impl_->server->stop();
}

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
    return HttpClient(impl_->server->port());
}

ManualClock& UiTestServer::clock() {
    return impl_->clock;
}

}  // namespace mf::testing
