#pragma once

#include <regex.h>
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "model/error.hpp"

namespace mf::sqlite {

// A failed SQLite call. what() is SQLite's own message, which may quote SQL: it is for logs
// only, clients see what to_error() makes of the result code.
class SqliteError : public std::runtime_error {
public:
    SqliteError(int extended_code, const std::string& message)
        : std::runtime_error(message), code_(extended_code) {}
    int code() const { return code_; }
    int primary_code() const { return code_ & 0xff; }

private:
    int code_;
};

// The domain error for a failed SQLite call (error mapping of the store).
Error to_error(const SqliteError& error);

// A unique or primary key of the table is taken.
bool is_duplicate_key(const SqliteError& error);

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

// A prepared statement borrowed for one use: it is reset when the handle goes away, so the
// connection can hand it out again without compiling the SQL anew.
class Statement {
public:
    Statement(sqlite3_stmt* statement, bool* in_use);
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    ~Statement();

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::string& value) {
        return bind(index, std::string_view(value));
    }
    Statement& bind(int index, const std::optional<std::string>& value);
    Statement& bind(int index, const std::optional<std::int64_t>& value);
    Statement& bind(int index, const SqlValue& value);

    // True while a row is available; false once the statement is done.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    // Makes the statement ready to be bound and run again.
    void reset();

    std::int64_t int64(int column) const;
    std::string text(int column) const;
    std::optional<std::string> optional_text(int column) const;
    std::optional<std::int64_t> optional_int64(int column) const;

private:
    [[noreturn]] void fail(int code) const;

    sqlite3_stmt* statement_;
    bool* in_use_;  // the cache's flag; null for a statement compiled for this use only
};

// A compiled filtered_tasks pattern (docs/api.md#filtered-tasks): a POSIX extended regular
// expression, plus the PostgreSQL (ARE) spellings clients use with it, non-capturing groups "(?:"
// and the digit classes \d and \D. Newer Metaflow clients send "^(?:<pattern>)$". POSIX <regex.h>
// rather than std::regex: it does not recurse once per character, which long metadata values would
// turn into a stack overflow.
class PosixRegex {
public:
    // Throws std::invalid_argument with the reason when the pattern is invalid.
    explicit PosixRegex(std::string_view pattern);
    ~PosixRegex();
    PosixRegex(const PosixRegex&) = delete;
    PosixRegex& operator=(const PosixRegex&) = delete;

    // Whether the expression matches anywhere in text (unanchored, case-sensitive).
    bool search(std::string_view text) const;

private:
    regex_t regex_;
};

// Compiled expressions by pattern, so that a pattern used again is not compiled again.
class RegexCache {
public:
    // Throws std::invalid_argument when the pattern is invalid.
    std::shared_ptr<const PosixRegex> get(const std::string& pattern);

private:
    std::unordered_map<std::string, std::shared_ptr<const PosixRegex>> compiled_;
};

// One SQLite connection, used by one thread at a time. It keeps every statement it compiled
// for reuse, and defines the SQL functions the store's queries call.
class Connection {
public:
    enum class Access { read_write, read_only };

    // Throws SqliteError when the file cannot be opened or configured.
    Connection(const std::string& path, Access access, int busy_timeout_ms);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // The statement for `sql`, compiled on first use.
    Statement prepare(std::string_view sql);
    // Runs SQL text with any number of statements, uncached; for setup and migrations.
    void execute_script(const char* sql);
    // Rows changed by the last INSERT, UPDATE or DELETE.
    std::int64_t changes() const;
    bool in_transaction() const;
    RegexCache& regexes() { return regexes_; }

private:
    struct CachedStatement {
        sqlite3_stmt* statement = nullptr;
        bool in_use = false;
    };
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> statements_;
    RegexCache regexes_;
};

// Every SQL text a connection compiles is passed to the observer, when one is set: the
// query-plan test uses it to check that each statement the store runs is indexed.
void set_statement_observer(std::function<void(const std::string&)> observer);

// SQL text with numbered placeholders, built piece by piece, and the values they stand for.
// Values are always bound, never spliced into the text.
class SqlQuery {
public:
    SqlQuery& sql(std::string_view text) {
        text_ += text;
        return *this;
    }
    // Appends a placeholder bound to `value`.
    SqlQuery& value(SqlValue value);
    Statement prepare(Connection& db) const;

private:
    std::string text_;
    std::vector<SqlValue> values_;
};

}  // namespace mf::sqlite
