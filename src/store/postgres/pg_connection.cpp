#include "store/postgres/pg_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <stdexcept>

namespace mf::pg {
namespace {

namespace asio = boost::asio;

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextArrayOid = 1009;
// Statements kept prepared per connection: the fixed ones of the store all fit; filtered
// list queries past this many distinct texts are sent unnamed.
constexpr std::size_t kMaxPreparedStatements = 256;

std::string error_field(const PGresult* result, int field) {
    const char* value = PQresultErrorField(result, field);
    return value ? value : "";
}

ServerError server_error(const PGresult* result) {
    return ServerError{error_field(result, PG_DIAG_SQLSTATE),
                       error_field(result, PG_DIAG_MESSAGE_PRIMARY),
                       error_field(result, PG_DIAG_MESSAGE_DETAIL)};
}

// Class 08 (connection exception), 57P (operator intervention: shutdown, crash recovery),
// 53300 (too many connections) and no state at all (the link broke).
bool is_unavailable(std::string_view state) {
    return state.empty() || state.starts_with("08") || state.starts_with("57P") || state == "53300";
}

void log_notice(void*, const char* message) {
    spdlog::debug("PostgreSQL: {}", message);
}

// The socket of a connection, registered with the reactor for one wait. libpq owns the
// descriptor, so it is released, never closed, when the wait is over.
struct SocketWait {
    SocketWait(const asio::any_io_executor& executor, int fd) : descriptor(executor, fd) {}
    ~SocketWait() { descriptor.release(); }
    asio::posix::stream_descriptor descriptor;
};

}  // namespace

Error to_error(const ServerError& error) {
    const auto with_detail = [&] {
        return error.detail.empty() ? error.message : error.message + "\nDETAIL:  " + error.detail;
    };
    if (error.sqlstate == kUniqueViolation) return Error::already_exists(with_detail());
    if (error.sqlstate == kForeignKeyViolation) return Error::missing_parent(with_detail());
    // Text that is not UTF-8 (a database in that encoding refuses it): the client's bytes.
    if (error.sqlstate == kInvalidByteSequence) return Error::invalid(error.message);
    spdlog::error("PostgreSQL error {}: {} {}", error.sqlstate, error.message, error.detail);
    if (error.sqlstate == kSerializationFailure)
        return Error::retry_conflict("Conflicting concurrent update, please retry");
    // Only after the store ran the write again a few times, each time deadlocked.
    if (error.sqlstate == kDeadlockDetected)
        return Error::unavailable("concurrent writes deadlocked, please retry");
    if (error.sqlstate == kDiskFull) return Error::storage_full("the database has no space left");
    if (is_unavailable(error.sqlstate)) return Error::unavailable("the database is unavailable");
    // The statement ran past statement_timeout (or was cancelled by an operator): the
    // database is overloaded or a lock is held; the client retries later.
    if (error.sqlstate == kQueryCanceled)
        return Error::unavailable("the database did not answer in time");
    return Error::internal("database error");
}

std::optional<FailureKind> failure_kind(const ServerError& error) {
    const std::string_view state = error.sqlstate;
    if (state == kUniqueViolation || state == kForeignKeyViolation ||
        state == kInvalidByteSequence || state == kSerializationFailure)
        return std::nullopt;
    if (is_unavailable(state)) return FailureKind::unavailable;
    if (state == kQueryCanceled) return FailureKind::timeout;
    return FailureKind::other;
}

bool aborted_by_conflict(const ServerError& error) {
    return error.sqlstate == kSerializationFailure || error.sqlstate == kDeadlockDetected;
}

Query& Query::placeholder(Param param) {
    params_.push_back(std::move(param));
    text_ += '$';
    text_ += std::to_string(params_.size());
    return *this;
}

Query& Query::value(std::int64_t number) {
    return placeholder(Param{std::to_string(number), kInt8Oid});
}

Query& Query::value(std::string text) {
    return placeholder(Param{std::move(text), 0});
}

Query& Query::value(const std::optional<std::string>& text) {
    return placeholder(Param{text, 0});
}

Query& Query::value(const std::optional<std::int64_t>& number) {
    if (!number) return placeholder(Param{std::nullopt, kInt8Oid});
    return value(*number);
}

Query& Query::values(const std::vector<std::optional<std::string>>& items) {
    // The array's text form: elements quoted, with backslashes before quotes and backslashes.
    std::string literal = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) literal += ',';
        if (!items[i]) {
            literal += "NULL";
            continue;
        }
        literal += '"';
        for (char c : *items[i]) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    return placeholder(Param{std::move(literal), kTextArrayOid});
}

std::int64_t Rows::affected() const {
    std::int64_t count = 0;
    const char* text = PQcmdTuples(result_.get());
    std::from_chars(text, text + std::char_traits<char>::length(text), count);
    return count;
}

std::string Rows::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       PQgetlength(result_.get(), row, column));
}

std::optional<std::string> Rows::optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
}

std::int64_t Rows::int64(int row, int column) const {
    const char* value = PQgetvalue(result_.get(), row, column);
    std::int64_t number = 0;
    auto [end, ec] =
        std::from_chars(value, value + PQgetlength(result_.get(), row, column), number);
    if (ec != std::errc()) throw std::runtime_error("column is not an integer");
    return number;
}

std::optional<std::int64_t> Rows::optional_int64(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return int64(row, column);
}

bool Rows::boolean(int row, int column) const {
    return PQgetvalue(result_.get(), row, column)[0] == 't';
}

Connection::~Connection() {
    PQfinish(connection_);
    if (counted_among_) counted_among_->remove(backend_pid_);
}

void Connection::count_among(std::shared_ptr<OwnBackends> own, int server_pid) {
    if (server_pid != PQbackendPID(connection_)) {
        own->note_pooler();
        return;
    }
    backend_pid_ = server_pid;
    counted_among_ = std::move(own);
    counted_among_->add(backend_pid_);
}

ServerError Connection::connection_error(std::string_view what) {
    broken_ = true;
    return ServerError{"", std::string(what), PQerrorMessage(connection_)};
}

asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::open(std::string conninfo,
                                                                      Clock::time_point deadline) {
    PGconn* raw = PQconnectStart(conninfo.c_str());
    if (!raw) co_return Error::unavailable("out of memory");
    std::unique_ptr<Connection> connection(new Connection(raw));
    if (PQstatus(raw) == CONNECTION_BAD)
        co_return to_error(connection->connection_error("cannot connect"));
    // Writing first, as libpq's documentation says; the socket may change between polls (one
    // per host tried), so each wait wraps it anew.
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED)
            co_return to_error(connection->connection_error("cannot connect"));
        const bool ready = co_await connection->wait(poll == PGRES_POLLING_WRITING, deadline);
        if (!ready) co_return to_error(connection->connection_error("timed out connecting"));
        poll = PQconnectPoll(raw);
    }
    PQsetNoticeProcessor(raw, log_notice, nullptr);
    if (PQsetnonblocking(raw, 1) != 0 || PQenterPipelineMode(raw) != 1)
        co_return to_error(connection->connection_error("cannot enter pipeline mode"));
    co_return connection;
}

asio::awaitable<bool> Connection::wait(bool for_write, Clock::time_point deadline) {
    const int fd = PQsocket(connection_);
    if (fd < 0 || Clock::now() >= deadline) co_return false;
    auto executor = co_await asio::this_coro::executor;
    auto socket = std::make_shared<SocketWait>(executor, fd);
    asio::steady_timer timer(executor, deadline);
    // The timer may fire after the wait ended and the socket was released: it only holds it
    // weakly.
    timer.async_wait([weak = std::weak_ptr<SocketWait>(socket)](boost::system::error_code ec) {
        if (ec) return;
        if (auto expired = weak.lock()) expired->descriptor.cancel();
    });
    auto wait_type = for_write ? asio::posix::descriptor_base::wait_write
                               : asio::posix::descriptor_base::wait_read;
    auto [ec] =
        co_await socket->descriptor.async_wait(wait_type, asio::as_tuple(asio::use_awaitable));
    timer.cancel();
    co_return !ec;
}

asio::awaitable<bool> Connection::flush(Clock::time_point deadline) {
    for (;;) {
        const int pending = PQflush(connection_);
        if (pending == 0) co_return true;
        if (pending < 0) co_return false;
        // Read what the server has sent meanwhile, so that neither side waits on a full buffer.
        if (!PQconsumeInput(connection_)) co_return false;
        const bool writable = co_await wait(true, deadline);
        if (!writable) co_return false;
    }
}

asio::awaitable<std::optional<PGresult*>> Connection::next_result(Clock::time_point deadline) {
    while (PQisBusy(connection_)) {
        const bool readable = co_await wait(false, deadline);
        if (!readable) co_return std::nullopt;
        if (!PQconsumeInput(connection_)) co_return std::nullopt;
    }
    PGresult* result = PQgetResult(connection_);
    co_return result;
}

bool Connection::send(const Query& query) {
    const auto& params = query.params();
    std::vector<const char*> values;
    std::vector<Oid> types;
    for (const auto& param : params) {
        values.push_back(param.text ? param.text->c_str() : nullptr);
        types.push_back(param.type);
    }
    const int count = static_cast<int>(params.size());
    auto found = prepared_.find(query.text());
    if (found == prepared_.end() && prepared_.size() < kMaxPreparedStatements) {
        std::string name = "mf_" + std::to_string(next_statement_number_++);
        if (!PQsendPrepare(connection_, name.c_str(), query.text().c_str(), count, types.data()))
            return false;
        found = prepared_.emplace(query.text(), std::move(name)).first;
    }
    if (found != prepared_.end()) {
        return PQsendQueryPrepared(connection_, found->second.c_str(), count, values.data(),
                                   nullptr, nullptr, 0) == 1;
    }
    return PQsendQueryParams(connection_, query.text().c_str(), count, types.data(), values.data(),
                             nullptr, nullptr, 0) == 1;
}

bool Connection::send_group(const std::vector<Query>& queries, std::vector<Expected>& expected) {
    for (const auto& query : queries) {
        const bool was_prepared = prepared_.contains(query.text());
        if (!send(query)) return false;
        if (!was_prepared && prepared_.contains(query.text()))
            expected.push_back(Expected{&query.text()});
        expected.push_back(Expected{});
    }
    return true;
}

asio::awaitable<std::optional<Outcome>> Connection::read_group(
    const std::vector<Expected>& expected, Clock::time_point deadline) {
    std::vector<Rows> rows;
    std::optional<ServerError> failure;
    bool aborted = false;
    for (const auto& result_of : expected) {
        for (;;) {
            auto result = co_await next_result(deadline);
            if (!result) co_return connection_error("no answer");
            if (!*result) break;  // the end of this statement's results
            const ExecStatusType status = PQresultStatus(*result);
            const bool succeeded = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
            if (status == PGRES_FATAL_ERROR && !failure) failure = server_error(*result);
            aborted = aborted || status == PGRES_PIPELINE_ABORTED;
            if (result_of.prepared_sql && !succeeded) prepared_.erase(*result_of.prepared_sql);
            if (!result_of.prepared_sql && succeeded) {
                rows.emplace_back(*result);
            } else {
                PQclear(*result);
            }
        }
    }
    if (failure) co_return *failure;
    if (aborted) co_return std::nullopt;
    co_return rows;
}

asio::awaitable<Outcome> Connection::run(const std::vector<Query>& queries,
                                         Clock::time_point deadline) {
    const std::vector<const std::vector<Query>*> groups{&queries};
    auto outcomes = co_await run_batch(groups, deadline);
    co_return std::move(outcomes.front());
}

asio::awaitable<std::vector<std::optional<Outcome>>> Connection::exchange(
    const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline) {
    const auto failed = [&](std::string_view what) {
        return std::vector<std::optional<Outcome>>(groups.size(), Outcome{connection_error(what)});
    };
    // Until the pipeline is read to its sync, the connection is in no state to be reused.
    broken_ = true;
    std::vector<std::vector<Expected>> expected(groups.size());
    for (std::size_t group = 0; group < groups.size(); ++group) {
        if (!send_group(*groups[group], expected[group])) co_return failed("cannot send");
    }
    // One sync for the whole batch (PQpipelineSync of libpq 15 writes to the socket).
    if (PQpipelineSync(connection_) != 1) co_return failed("cannot send");
    const bool sent = co_await flush(deadline);
    if (!sent) co_return failed("cannot send");

    std::vector<std::optional<Outcome>> read(groups.size());
    for (std::size_t group = 0; group < groups.size(); ++group) {
        read[group] = co_await read_group(expected[group], deadline);
        const auto* failure = read[group] ? std::get_if<ServerError>(&*read[group]) : nullptr;
        // Only connection_error() leaves the SQLSTATE empty: the pipeline is lost.
        if (failure && failure->sqlstate.empty()) co_return failed("no answer");
    }
    auto sync = co_await next_result(deadline);
    if (!sync || !*sync) co_return failed("no answer");
    const bool synced = PQresultStatus(*sync) == PGRES_PIPELINE_SYNC;
    PQclear(*sync);
    if (!synced) co_return failed("pipeline out of step");
    broken_ = PQstatus(connection_) != CONNECTION_OK;
    co_return read;
}

asio::awaitable<std::vector<Outcome>> Connection::run_batch(
    const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline) {
    auto read = co_await exchange(groups, deadline);
    // A failed statement made the server skip the rest of the batch: those groups go again,
    // in a batch of their own.
    std::vector<const std::vector<Query>*> skipped;
    for (std::size_t group = 0; group < groups.size(); ++group) {
        if (!read[group]) skipped.push_back(groups[group]);
    }
    std::vector<Outcome> again;
    if (!skipped.empty() && !broken_) again = co_await run_batch(skipped, deadline);
    std::vector<Outcome> outcomes;
    outcomes.reserve(groups.size());
    auto next_again = again.begin();
    for (auto& outcome : read) {
        if (outcome) {
            outcomes.push_back(std::move(*outcome));
        } else if (next_again != again.end()) {
            outcomes.push_back(std::move(*next_again++));
        } else {
            outcomes.push_back(connection_error("connection lost"));
        }
    }
    co_return outcomes;
}

asio::awaitable<Connection::TransactionOutcome> Connection::run_transaction(
    const std::vector<const std::vector<Query>*>& groups, Clock::time_point deadline) {
    static const std::vector<Query> begin{Query("BEGIN")};
    static const std::vector<Query> commit{Query("COMMIT")};
    std::vector<const std::vector<Query>*> all{&begin};
    all.insert(all.end(), groups.begin(), groups.end());
    all.push_back(&commit);
    auto read = co_await exchange(all, deadline);
    TransactionOutcome transaction;
    const auto& committed = read.back();
    if (committed && std::holds_alternative<std::vector<Rows>>(*committed)) {
        // After a failed statement the server would have skipped the COMMIT.
        for (std::size_t group = 1; group <= groups.size(); ++group)
            transaction.outcomes.push_back(std::move(*read[group]));
        co_return transaction;
    }
    if (broken_) {
        transaction.outcomes.assign(groups.size(), connection_error("connection lost"));
        co_return transaction;
    }
    for (std::size_t group = 0; group < all.size(); ++group) {
        if (!read[group]) continue;
        if (auto* failure = std::get_if<ServerError>(&*read[group])) {
            transaction.failed_group = group == 0 ? groups.size() : group - 1;
            transaction.failure = std::move(*failure);
            break;
        }
    }
    // A failed statement leaves the transaction block aborted until a ROLLBACK (a failed
    // COMMIT has ended it already).
    if (PQtransactionStatus(connection_) != PQTRANS_IDLE) {
        static const std::vector<Query> rollback{Query("ROLLBACK")};
        co_await run(rollback, deadline);
    }
    co_return transaction;
}

namespace {

// A host that drops packets would otherwise hold a blocking connect (schema preparation,
// migrations) for the operating system's TCP timeout. A connect_timeout in the URL wins: the
// URL, expanded from dbname, comes after this default.
PGconn* connect_blocking(const std::string& conninfo) {
    const char* keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"10", conninfo.c_str(), nullptr};
    return PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
}

}  // namespace

BlockingConnection::BlockingConnection(const std::string& conninfo)
    : connection_(connect_blocking(conninfo)) {
    if (PQstatus(connection_) != CONNECTION_OK) {
        std::string message = PQerrorMessage(connection_);
        PQfinish(connection_);
        throw ConnectionFailed("cannot connect to PostgreSQL: " + message);
    }
    PQsetNoticeProcessor(connection_, log_notice, nullptr);
}

BlockingConnection::~BlockingConnection() {
    PQfinish(connection_);
}

Rows BlockingConnection::execute(const std::string& sql,
                                 const std::vector<std::optional<std::string>>& params) {
    PGresult* result = nullptr;
    if (params.empty()) {
        // The simple protocol, which runs scripts of several statements.
        result = PQexec(connection_, sql.c_str());
    } else {
        std::vector<const char*> values;
        for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
        result = PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0);
    }
    Rows rows(result);
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        std::string message = result ? error_field(result, PG_DIAG_MESSAGE_PRIMARY)
                                     : std::string(PQerrorMessage(connection_));
        // The link broke or the server ended the session: no fault of the statement, and
        // worth retrying as a database that cannot be reached is.
        if (PQstatus(connection_) == CONNECTION_BAD)
            throw ConnectionFailed("lost the connection to PostgreSQL: " + message);
        throw std::runtime_error(message);
    }
    return rows;
}

}  // namespace mf::pg
