#pragma once

// Shared by the process-fault tests on SQLite: the checks of a database file against the
// record of a write load.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <string>
#include <vector>

#include "reliability/write_load.hpp"

namespace mf::testing::reliability {

// A database file opened directly, as an operator's sqlite3 would.
class Database {
public:
    explicit Database(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
        }
        sqlite3_busy_timeout(db_, 5000);
    }
    ~Database() { sqlite3_close(db_); }

    // Every row of a query, columns joined by '|'.
    std::vector<std::string> rows(const std::string& sql) {
        std::vector<std::string> out;
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
            return out;
        }
        while (sqlite3_step(statement) == SQLITE_ROW) {
            std::string row;
            for (int c = 0; c < sqlite3_column_count(statement); ++c) {
                if (c) row += '|';
                const auto* text = sqlite3_column_text(statement, c);
                row += text ? reinterpret_cast<const char*>(text) : "NULL";
            }
            out.push_back(std::move(row));
        }
        sqlite3_finalize(statement);
        return out;
    }

    // PRAGMA integrity_check is ok, no foreign key is dangling (no task without its step),
    // and every acknowledged write of `acked` on `flow` is there. Returns the number checked.
    std::size_t check(const std::string& flow, Acknowledged& acked) {
        EXPECT_EQ(rows("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
        EXPECT_EQ(rows("PRAGMA foreign_key_check"), std::vector<std::string>{});
        std::string where = " WHERE flow_id = '" + flow + "'";
        const auto missing = missing_writes(acked, [&](const std::string& sql) {
            auto list = rows(sql + where);
            return std::set<std::string>(list.begin(), list.end());
        });
        EXPECT_EQ(missing, 0u) << "acknowledged writes missing from the database";
        return acked.total();
    }

private:
    sqlite3* db_ = nullptr;
};

}  // namespace mf::testing::reliability
