#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace mf::testing {

// Whether tests run on PostgreSQL: MF_TEST_BACKEND=postgres, with the cluster at
// MF_TEST_POSTGRES_URL (scripts/test.sh starts one; see scripts/pg-cluster.sh).
bool testing_postgres();

// A fresh, empty database for one test server: a SQLite file in `dir`, or on PostgreSQL a
// database of its own, created here and dropped at destruction.
class TestDatabase {
public:
    explicit TestDatabase(const std::filesystem::path& dir);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& url() const { return url_; }
    // Rows in each table of the schema, read straight from the database.
    std::map<std::string, std::int64_t> row_counts() const;

private:
    std::string url_;
    std::string postgres_name_;  // empty on SQLite
};

// The URL of database `name` on the test cluster.
std::string postgres_database_url(const std::string& name);

}  // namespace mf::testing
