#pragma once

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "model/result.hpp"
#include "store/postgres/pg_own_backends.hpp"

namespace mf::pg {

using Clock = std::chrono::steady_clock;

// SQLSTATEs the store tells apart (PostgreSQL appendix A).
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kForeignKeyViolation = "23503";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kDiskFull = "53100";
inline constexpr std::string_view kInvalidByteSequence = "22021";
inline constexpr std::string_view kQueryCanceled = "57014";  // statement_timeout among others

// A failed statement as PostgreSQL reported it. The texts may quote SQL or values: they are
// for logs, and reach clients only through the messages of to_error().
struct ServerError {
    std::string sqlstate;  // empty when the connection failed rather than the statement
    std::string message;   // the primary message
    std::string detail;    // DETAIL, e.g. the key of a violated constraint
};

// The domain error for a failure: duplicates and missing parents keep PostgreSQL's own
// wording (which names the constraint and key, as the reference's errors do); the rest is
// logged and summarised.
Error to_error(const ServerError& error);

// How a failure counts among the store's DatabaseErrorCounts; nothing for the failures a
// client causes or retries (a duplicate, a missing parent, text that is not UTF-8, a
// conflict with a concurrent update).
enum class FailureKind { unavailable, timeout, other };
std::optional<FailureKind> failure_kind(const ServerError& error);

// Whether PostgreSQL rolled the transaction back to break a deadlock or a serialization
// conflict with another: nothing of it happened, and it may run again as it was.
bool aborted_by_conflict(const ServerError& error);

// A parameter sent as text. `type` 0 lets the server infer it from where it is used.
struct Param {
    std::optional<std::string> text;
    Oid type = 0;
};

// SQL text with $n placeholders, built piece by piece, and the values they stand for.
// Values are always sent as parameters, never spliced into the text.
class Query {
public:
    Query() = default;
    explicit Query(std::string_view text) : text_(text) {}
    Query& sql(std::string_view text) {
        text_ += text;
        return *this;
    }
    Query& value(std::int64_t number);
    Query& value(std::string text);
    Query& value(const std::optional<std::string>& text);
    Query& value(const std::optional<std::int64_t>& number);
    // A text[] parameter: one element per item, NULL for nothing.
    Query& values(const std::vector<std::optional<std::string>>& items);
    const std::string& text() const { return text_; }
    const std::vector<Param>& params() const { return params_; }

private:
    Query& placeholder(Param param);

    std::string text_;
    std::vector<Param> params_;
};

// The rows (or command status) of one statement; owns its PGresult.
class Rows {
public:
    explicit Rows(PGresult* result) : result_(result, PQclear) {}
    int size() const { return PQntuples(result_.get()); }
    int columns() const { return PQnfields(result_.get()); }
    bool empty() const { return size() == 0; }
    // Rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const;
    bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column); }
    std::string text(int row, int column) const;
    std::optional<std::string> optional_text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    std::optional<std::int64_t> optional_int64(int row, int column) const;
    bool boolean(int row, int column) const;

private:
    std::shared_ptr<PGresult> result_;
};

// The rows of each statement of a pipeline, or why it failed.
using Outcome = std::variant<std::vector<Rows>, ServerError>;

// One libpq connection in pipeline mode, used by one coroutine at a time on the executor
// of that coroutine. It never blocks: it sends, then waits for the socket through Asio.
// The socket is wrapped for each wait only, so the connection is not tied to an io_context
// and can be closed after the context is gone.
class Connection {
public:
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Connects (conninfo: a URL or key=value list) before the deadline.
    static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open(
        std::string conninfo, Clock::time_point deadline);

    // Sends the queries as one pipeline, between two syncs, and reads their results: they
    // run as one implicit transaction unless they open their own. Stops at the first failed
    // statement (the rest are aborted by the server). A connection or timeout failure leaves
    // the connection broken().
    boost::asio::awaitable<Outcome> run(const std::vector<Query>& queries,
                                        Clock::time_point deadline);
    // Runs several independent groups of queries in one pipeline, with one write and one
    // sync: one outcome per group. A failing statement fails its own group only (the groups
    // the server skipped after it run again); a connection failure fails them all. The
    // groups share the implicit transaction, so this is for reads, whose statements each
    // take their own snapshot anyway.
    boost::asio::awaitable<std::vector<Outcome>> run_batch(
        const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline);
    // What a transaction of several groups came to.
    struct TransactionOutcome {
        // One per group when it committed, or when the connection failed (each group then
        // has that failure: whether the commit happened is unknown, as for any write whose
        // answer is lost). Empty when it rolled back.
        std::vector<Outcome> outcomes;
        // When it rolled back: the group whose statement failed (the number of groups when
        // the COMMIT itself failed), and why.
        std::size_t failed_group = 0;
        ServerError failure;
    };
    // Runs several groups of writes as one transaction, in one pipeline with one commit for
    // them all. A failed statement rolls back every group's work.
    boost::asio::awaitable<TransactionOutcome> run_transaction(
        const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline);
    // Whether the connection must be dropped rather than reused.
    bool broken() const { return broken_; }
    // Counts the connection's backend among `own` from now until the connection closes, once,
    // when `server_pid` (pg_backend_pid() on it) is the pid the connection announced; when
    // not, a pooler stands between, and `own` notes that instead.
    void count_among(std::shared_ptr<OwnBackends> own, int server_pid);

private:
    explicit Connection(PGconn* connection) : connection_(connection) {}
    // Waits until the socket is ready to read (or to write), or the deadline passes.
    boost::asio::awaitable<bool> wait(bool for_write, Clock::time_point deadline);
    boost::asio::awaitable<bool> flush(Clock::time_point deadline);
    // The next result, once it arrives; null where libpq separates two statements' results.
    boost::asio::awaitable<std::optional<PGresult*>> next_result(Clock::time_point deadline);
    // False when the connection failed.
    bool send(const Query& query);
    // What each result libpq will return for a sent statement stands for: the statement's
    // rows, or the preparation of the SQL text named here.
    struct Expected {
        const std::string* prepared_sql = nullptr;
    };
    // Sends the queries, without a sync; false when the connection failed.
    bool send_group(const std::vector<Query>& queries, std::vector<Expected>& expected);
    // Reads the results of one group sent by send_group; nothing when the server skipped
    // the group after an earlier statement of the pipeline failed.
    boost::asio::awaitable<std::optional<Outcome>> read_group(const std::vector<Expected>& expected,
                                                              Clock::time_point deadline);
    // Sends the groups in one pipeline with one sync and reads their results: per group its
    // outcome, or nothing when the server skipped the group after an earlier statement of the
    // pipeline failed. A connection failure is every group's outcome.
    boost::asio::awaitable<std::vector<std::optional<Outcome>>> exchange(
        const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline);
    // Marks the connection broken and says why, for the log.
    ServerError connection_error(std::string_view what);

    PGconn* connection_;
    bool broken_ = false;
    std::shared_ptr<OwnBackends> counted_among_;
    int backend_pid_ = 0;
    // SQL text to the name of the statement prepared for it on this connection.
    std::unordered_map<std::string, std::string> prepared_;
    std::size_t next_statement_number_ = 0;
};

// The database could not be reached (as opposed to a statement that failed).
class ConnectionFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Blocking execution of SQL scripts, for the command line and migrations (never on a
// server worker thread). Throws std::runtime_error with the server's message, or
// ConnectionFailed when the connection is lost.
class BlockingConnection {
public:
    // Throws ConnectionFailed.
    explicit BlockingConnection(const std::string& conninfo);
    ~BlockingConnection();
    BlockingConnection(const BlockingConnection&) = delete;
    BlockingConnection& operator=(const BlockingConnection&) = delete;

    // A null parameter is SQL NULL.
    Rows execute(const std::string& sql,
                 const std::vector<std::optional<std::string>>& params = {});
    PGconn* native() { return connection_; }

private:
    PGconn* connection_;
};

}  // namespace mf::pg
