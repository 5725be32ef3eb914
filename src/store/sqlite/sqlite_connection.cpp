#include "store/sqlite/sqlite_connection.hpp"

#include <spdlog/spdlog.h>

#include <strings.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <utility>

namespace mf::sqlite {
namespace {

// Beyond this many distinct SQL texts (filter combinations), statements are compiled for one
// use instead of being kept, so that odd queries cannot grow a connection without bound.
constexpr std::size_t kMaxCachedStatements = 256;
constexpr std::size_t kMaxCachedRegexes = 64;

std::mutex observer_mutex;
std::function<void(const std::string&)> statement_observer;
std::atomic<bool> observer_set{false};

void notify_observer(std::string_view sql) {
    if (!observer_set.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(observer_mutex);
    if (statement_observer) statement_observer(std::string(sql));
}

std::string_view value_text(sqlite3_value* value) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
    if (!text) return {};
    return {text, static_cast<std::size_t>(sqlite3_value_bytes(value))};
}

// regexp(pattern, text): whether the POSIX extended expression matches anywhere in text.
void regexp_function(sqlite3_context* context, int, sqlite3_value** args) {
    if (sqlite3_value_type(args[0]) == SQLITE_NULL || sqlite3_value_type(args[1]) == SQLITE_NULL) {
        sqlite3_result_null(context);
        return;
    }
    using Compiled = std::shared_ptr<const PosixRegex>;
    try {
        // The pattern is usually one bound value for a whole query: keep its compiled form
        // with the statement instead of looking it up again for every row.
        auto* compiled = static_cast<Compiled*>(sqlite3_get_auxdata(context, 0));
        if (!compiled) {
            auto& cache = *static_cast<RegexCache*>(sqlite3_user_data(context));
            sqlite3_set_auxdata(context, 0,
                                new Compiled(cache.get(std::string(value_text(args[0])))),
                                [](void* p) { delete static_cast<Compiled*>(p); });
            compiled = static_cast<Compiled*>(sqlite3_get_auxdata(context, 0));
            if (!compiled) {
                sqlite3_result_error_nomem(context);
                return;
            }
        }
        sqlite3_result_int(context, (*compiled)->search(value_text(args[1])) ? 1 : 0);
    } catch (const std::exception& e) {
        sqlite3_result_error(context, e.what(), -1);
    }
}

// The ERE for a pattern written with PostgreSQL's ARE extensions. Only match or no match
// counts here, so a non-capturing group can become a capturing one. Bracket expressions are
// copied as they are.
std::string posix_spelling(std::string_view pattern) {
    std::string out;
    out.reserve(pattern.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char escaped = pattern[++i];
            if (escaped == 'd') {
                out += "[0-9]";
            } else if (escaped == 'D') {
                out += "[^0-9]";
            } else {
                out += c;
                out += escaped;
            }
        } else if (c == '(' && pattern.substr(i, 3) == "(?:") {
            out += '(';
            i += 2;
        } else if (c == '[') {
            // Up to the closing bracket, which may come first (after an optional ^) as a
            // literal, and may not close a [:class:], [=equivalence=] or [.collating.] item.
            std::size_t end = i + 1;
            if (end < pattern.size() && pattern[end] == '^') ++end;
            if (end < pattern.size() && pattern[end] == ']') ++end;
            while (end < pattern.size() && pattern[end] != ']') {
                if (pattern[end] == '[' && end + 1 < pattern.size() &&
                    (pattern[end + 1] == ':' || pattern[end + 1] == '=' ||
                     pattern[end + 1] == '.')) {
                    const char kind = pattern[end + 1];
                    std::size_t close = pattern.find(std::string{kind, ']'}, end + 2);
                    end = close == std::string_view::npos ? pattern.size() : close + 2;
                } else {
                    ++end;
                }
            }
            const std::size_t stop = std::min(end + 1, pattern.size());
            out.append(pattern.substr(i, stop - i));
            i = stop - 1;
        } else {
            out += c;
        }
    }
    return out;
}

// PostgreSQL's text-to-boolean cast: any case, surrounding blanks, and unambiguous prefixes
// of true/false/yes/no, plus on/off/1/0. Other text is an error, as it is there.
std::optional<bool> parse_pg_bool(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    auto prefix_of = [&](std::string_view word, std::size_t min_length) {
        return text.size() >= min_length && text.size() <= word.size() &&
               strncasecmp(text.data(), word.data(), text.size()) == 0;
    };
    if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || text == "1")
        return true;
    if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || text == "0")
        return false;
    return std::nullopt;
}

void pg_bool_function(sqlite3_context* context, int, sqlite3_value** args) {
    if (sqlite3_value_type(args[0]) == SQLITE_NULL) {
        sqlite3_result_null(context);
        return;
    }
    auto flag = parse_pg_bool(value_text(args[0]));
    if (!flag) {
        sqlite3_result_error(context, "invalid input syntax for type boolean", -1);
        return;
    }
    sqlite3_result_int(context, *flag ? 1 : 0);
}

}  // namespace

Error to_error(const SqliteError& error) {
    const char* description = sqlite3_errstr(error.code());
    switch (error.primary_code()) {
        case SQLITE_CONSTRAINT:
            if (is_duplicate_key(error))
                return Error::already_exists("duplicate key value violates unique constraint");
            break;
        case SQLITE_FULL:
            spdlog::error("SQLite: {}", error.what());
            return Error::storage_full(description);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
            spdlog::error("SQLite: {}", error.what());
            return Error::unavailable(description);
        default:
            break;
    }
    spdlog::error("SQLite: {} (code {})", error.what(), error.code());
    return Error::internal(std::string("database error: ") + description);
}

bool is_duplicate_key(const SqliteError& error) {
    return error.code() == SQLITE_CONSTRAINT_UNIQUE || error.code() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

void set_statement_observer(std::function<void(const std::string&)> observer) {
    std::lock_guard lock(observer_mutex);
    observer_set.store(static_cast<bool>(observer));
    statement_observer = std::move(observer);
}

// --- Statement ---

Statement::Statement(sqlite3_stmt* statement, bool* in_use)
    : statement_(statement), in_use_(in_use) {}

Statement::Statement(Statement&& other) noexcept
    : statement_(std::exchange(other.statement_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)) {}

Statement::~Statement() {
    if (!statement_) return;
    if (in_use_) {
        sqlite3_reset(statement_);
        *in_use_ = false;
    } else {
        sqlite3_finalize(statement_);
    }
}

void Statement::fail(int code) const {
    throw SqliteError(code, sqlite3_errmsg(sqlite3_db_handle(statement_)));
}

Statement& Statement::bind(int index, std::int64_t value) {
    if (int rc = sqlite3_bind_int64(statement_, index, value); rc != SQLITE_OK) fail(rc);
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    int rc = sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    if (rc != SQLITE_OK) fail(rc);
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
    if (value) return bind(index, std::string_view(*value));
    if (int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK) fail(rc);
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
    if (value) return bind(index, *value);
    if (int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK) fail(rc);
    return *this;
}

Statement& Statement::bind(int index, const SqlValue& value) {
    std::visit(
        [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::nullptr_t>) {
                if (int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK) fail(rc);
            } else if constexpr (std::is_same_v<V, std::string>) {
                bind(index, std::string_view(v));
            } else {
                bind(index, v);
            }
        },
        value);
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc);
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(statement_);
}

std::int64_t Statement::int64(int column) const {
    return sqlite3_column_int64(statement_, column);
}

std::string Statement::text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (!text) return {};
    return {text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))};
}

std::optional<std::string> Statement::optional_text(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) return std::nullopt;
    return text(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) return std::nullopt;
    return int64(column);
}

// --- PosixRegex, RegexCache ---

PosixRegex::PosixRegex(std::string_view pattern) {
    int rc = regcomp(&regex_, posix_spelling(pattern).c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char reason[256];
        regerror(rc, &regex_, reason, sizeof reason);
        throw std::invalid_argument(reason);
    }
}

PosixRegex::~PosixRegex() {
    regfree(&regex_);
}

bool PosixRegex::search(std::string_view text) const {
    // REG_STARTEND bounds the match by length, so text need not end in a NUL.
    regmatch_t range[1];
    range[0].rm_so = 0;
    range[0].rm_eo = static_cast<regoff_t>(text.size());
    return regexec(&regex_, text.empty() ? "" : text.data(), 1, range, REG_STARTEND) == 0;
}

std::shared_ptr<const PosixRegex> RegexCache::get(const std::string& pattern) {
    if (auto found = compiled_.find(pattern); found != compiled_.end()) return found->second;
    auto compiled = std::make_shared<const PosixRegex>(pattern);
    if (compiled_.size() >= kMaxCachedRegexes) compiled_.clear();
    compiled_.emplace(pattern, compiled);
    return compiled;
}

// --- Connection ---

namespace {

// SQLite counts every allocation under a process-wide mutex for its memory statistics, which
// the service never reads; a page of the UI's timeline makes tens of thousands of allocations.
// The setting only takes before SQLite initializes, which its first connection does.
void skip_memory_statistics() {
    static const int once = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)once;
}

}  // namespace

Connection::Connection(const std::string& path, Access access, int busy_timeout_ms) {
    skip_memory_statistics();
    int flags = SQLITE_OPEN_NOMUTEX |
                (access == Access::read_only ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        throw SqliteError(rc, message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    constexpr int kFunctionFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    sqlite3_create_function_v2(db_, "regexp", 2, kFunctionFlags, &regexes_, regexp_function,
                               nullptr, nullptr, nullptr);
    sqlite3_create_function_v2(db_, "pg_bool", 1, kFunctionFlags, nullptr, pg_bool_function,
                               nullptr, nullptr, nullptr);
    try {
        execute_script("PRAGMA foreign_keys = ON");
    } catch (...) {
        sqlite3_close(db_);
        throw;
    }
}

Connection::~Connection() {
    for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.statement);
    sqlite3_close(db_);
}

Statement Connection::prepare(std::string_view sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end() && !found->second.in_use) {
        found->second.in_use = true;
        return Statement(found->second.statement, &found->second.in_use);
    }
    // A statement still in use (a nested query with the same text) or one past the cache
    // limit is compiled for this use only.
    const bool keep = found == statements_.end() && statements_.size() < kMaxCachedStatements;
    notify_observer(sql);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                keep ? SQLITE_PREPARE_PERSISTENT : 0, &statement, nullptr);
    if (rc != SQLITE_OK) throw SqliteError(rc, sqlite3_errmsg(db_));
    if (!keep) return Statement(statement, nullptr);
    auto& cached =
        statements_.emplace(std::string(sql), CachedStatement{statement, true}).first->second;
    return Statement(statement, &cached.in_use);
}

void Connection::execute_script(const char* sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw SqliteError(sqlite3_extended_errcode(db_), text);
    }
}

std::int64_t Connection::changes() const {
    return sqlite3_changes64(db_);
}

bool Connection::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

// --- SqlQuery ---

SqlQuery& SqlQuery::value(SqlValue value) {
    values_.push_back(std::move(value));
    text_ += '?';
    text_ += std::to_string(values_.size());
    return *this;
}

Statement SqlQuery::prepare(Connection& db) const {
    Statement statement = db.prepare(text_);
    for (std::size_t i = 0; i < values_.size(); ++i)
        statement.bind(static_cast<int>(i + 1), values_[i]);
    return statement;
}

}  // namespace mf::sqlite
