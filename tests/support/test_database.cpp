#include "support/test_database.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "store/postgres/pg_connection.hpp"

namespace mf::testing {
namespace {

constexpr const char* kTables[] = {"flows_v3", "runs_v3",     "steps_v3",
                                   "tasks_v3", "metadata_v3", "artifact_v3"};

std::string cluster_url() {
    const char* url = std::getenv("MF_TEST_POSTGRES_URL");
    if (!url || !*url) {
        throw std::runtime_error(
            "MF_TEST_POSTGRES_URL is not set: run scripts/test.sh, or start a cluster with "
            "scripts/pg-cluster.sh");
    }
    return url;
}

std::string unique_database_name() {
    static std::atomic<int> counter{0};
    std::random_device random;
    return "test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(random() % 1'000'000);
}

std::map<std::string, std::int64_t> sqlite_row_counts(const std::string& path) {
    std::map<std::string, std::int64_t> counts;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        throw std::runtime_error("cannot open " + path);
    }
    for (const char* table : kTables) {
        sqlite3_stmt* statement = nullptr;
        std::string sql = std::string("SELECT count(*) FROM ") + table;
        sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
        if (statement && sqlite3_step(statement) == SQLITE_ROW) {
            counts[table] = sqlite3_column_int64(statement, 0);
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return counts;
}

}  // namespace

bool testing_postgres() {
    const char* backend = std::getenv("MF_TEST_BACKEND");
    return backend && std::string(backend) == "postgres";
}

std::string postgres_database_url(const std::string& name) {
    // postgresql://user@host:port/NAME?options: the name between the third slash and "?".
    const std::string url = cluster_url();
    const std::size_t start = url.find('/', url.find("//") + 2) + 1;
    const std::size_t end = std::min(url.find('?', start), url.size());
    return url.substr(0, start) + name + url.substr(end);
}

TestDatabase::TestDatabase(const std::filesystem::path& dir) {
    if (!testing_postgres()) {
        url_ = "sqlite:" + (dir / "metadata.db").string();
        return;
    }
    postgres_name_ = unique_database_name();
    pg::BlockingConnection cluster(cluster_url());
    cluster.execute("CREATE DATABASE " + postgres_name_);
    url_ = postgres_database_url(postgres_name_);
}

TestDatabase::~TestDatabase() {
    if (postgres_name_.empty()) return;
    try {
        pg::BlockingConnection cluster(cluster_url());
        cluster.execute("DROP DATABASE IF EXISTS " + postgres_name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
        // Left for the cluster's removal at the end of the run.
    }
}

std::map<std::string, std::int64_t> TestDatabase::row_counts() const {
    if (postgres_name_.empty())
        return sqlite_row_counts(url_.substr(std::string("sqlite:").size()));
    std::map<std::string, std::int64_t> counts;
    pg::BlockingConnection db(url_);
    for (const char* table : kTables)
        counts[table] = db.execute(std::string("SELECT count(*) FROM ") + table).int64(0, 0);
    return counts;
}

}  // namespace mf::testing
