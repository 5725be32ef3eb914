#include "realtime/hub.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "model/text.hpp"
#include "realtime/row_filter.hpp"
#include "realtime/websocket.hpp"

namespace mf::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

double unix_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string quoted(std::string_view text) {
    return json::serialize(json::string(text));
}

const char* type_name(RowChange::Operation operation) {
    switch (operation) {
        case RowChange::Operation::insert:
            return "INSERT";
        case RowChange::Operation::update:
            return "UPDATE";
        case RowChange::Operation::remove:
            return "DELETE";
    }
    return "UPDATE";
}

// The "N" of a metadata record's "attempt_id:N" tag, 0 without one.
std::int64_t attempt_of(const std::vector<std::string>& tags) {
    constexpr std::string_view kPrefix = "attempt_id:";
    for (const auto& tag : tags) {
        if (!tag.starts_with(kPrefix)) continue;
        if (auto attempt = parse_number<std::int64_t>(std::string_view(tag).substr(kPrefix.size())))
            return *attempt;
    }
    return 0;
}

// A SUBSCRIBE's `since`: unix seconds, as a number or a numeric string.
std::optional<double> since_of(const json::value* since) {
    if (!since) return std::nullopt;
    if (since->is_int64()) return static_cast<double>(since->as_int64());
    if (since->is_uint64()) return static_cast<double>(since->as_uint64());
    if (since->is_double()) return since->as_double();
    if (since->is_string()) return parse_number<double>(since->as_string());
    return std::nullopt;
}

// One reload and push: the rows `query` selects (the first), to `paths`.
struct Broadcast {
    UiListQuery query;
    const char* type = "UPDATE";
    std::vector<std::string> paths;
};

// Where a run's, step's or task's own resources live.
struct Keys {
    std::string flow_id;
    std::int64_t run_number = 0;
    std::string step_name;
    std::int64_t task_id = 0;

    std::string run_path() const {
        return "/flows/" + flow_id + "/runs/" + std::to_string(run_number);
    }
    std::string step_path() const { return run_path() + "/steps/" + step_name; }
    std::string task_path() const { return step_path() + "/tasks/" + std::to_string(task_id); }
    UiScope run_scope() const {
        return UiScope{.flow_id = flow_id, .run = ObjectKey::number(run_number)};
    }
    UiScope task_scope() const {
        return UiScope{.flow_id = flow_id,
                       .run = ObjectKey::number(run_number),
                       .step_name = step_name,
                       .task = ObjectKey::number(task_id)};
    }
    auto tie() const { return std::tie(flow_id, run_number, step_name, task_id); }
    bool operator<(const Keys& other) const { return tie() < other.tie(); }
};

Broadcast run_broadcast(const Keys& keys, const char* type) {
    return Broadcast{UiListQuery{.resource = UiResource::runs, .scope = keys.run_scope()},
                     type,
                     {"/runs", "/flows/" + keys.flow_id + "/runs", keys.run_path()}};
}

// The task's newest attempt, or the attempt given.
Broadcast task_broadcast(const Keys& keys, const char* type, std::optional<std::int64_t> attempt) {
    UiListQuery query{
        .resource = UiResource::tasks, .scope = keys.task_scope(), .order = {{"attempt_id", true}}};
    if (attempt)
        query.filters.push_back(Filter{"attempt_id", FilterOp::eq, {std::to_string(*attempt)}});
    return Broadcast{std::move(query),
                     type,
                     {keys.run_path() + "/tasks", keys.step_path() + "/tasks", keys.task_path(),
                      keys.task_path() + "/attempts"}};
}

}  // namespace

// One websocket. Its stream belongs to its own event loop; the hub hands it frames from
// the hub's loop through a queue bounded in bytes.
class Socket : public std::enable_shared_from_this<Socket> {
public:
    Socket(asio::ip::tcp::socket socket, std::uint64_t id)
        : id_(id), stream_(std::move(socket)), wake_(stream_.get_executor()) {}

    std::uint64_t id() const { return id_; }

    void configure(std::chrono::seconds idle_timeout) {
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = std::chrono::seconds(30);
        timeouts.idle_timeout = idle_timeout;
        timeouts.keep_alive_pings = false;
        stream_.set_option(timeouts);
        stream_.read_message_max(64 * 1024);
    }

    websocket::stream<beast::tcp_stream>& stream() { return stream_; }
    asio::any_io_executor executor() { return stream_.get_executor(); }

    // From any thread: queues a frame, or drops the socket when `limit` bytes wait already.
    // Returns false when the socket was dropped by this call.
    bool send(std::string frame, SteadyTime since, std::size_t limit) {
        {
            std::lock_guard lock(mutex_);
            if (closed_) return true;
            if (queued_bytes_ + frame.size() > limit) {
                closed_ = true;
                outbox_.clear();
                asio::post(executor(), [self = shared_from_this()] { self->abort(); });
                return false;
            }
            queued_bytes_ += frame.size();
            outbox_.push_back({std::move(frame), since});
        }
        asio::post(executor(), [self = shared_from_this()] { self->wake_.cancel(); });
        return true;
    }

    // From any thread: ends the connection at once.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        asio::post(executor(), [self = shared_from_this()] { self->abort(); });
    }

    // Writes queued frames until the socket closes; `observe` gets each frame's latency.
    asio::awaitable<void> write_loop(const std::function<void(double)>& observe) {
        bool closed = false;
        while (!closed) {
            auto next = take(closed);
            if (next) {
                co_await write_one(*next, observe);
            } else if (!closed) {
                wake_.expires_at(asio::steady_timer::time_point::max());
                co_await wake_.async_wait(kTuple);
            }
        }
    }

    // Reads one message and hands it to `read`; false once the socket closed.
    asio::awaitable<bool> read_one(beast::flat_buffer& buffer,
                                   const std::function<void(std::string_view)>& read) {
        auto [error, bytes] = co_await stream_.async_read(buffer, kTuple);
        if (error) co_return false;
        const auto data = buffer.data();
        read(std::string_view(static_cast<const char*>(data.data()), data.size()));
        buffer.consume(buffer.size());
        co_return true;
    }

    // On the socket's loop: closes the TCP connection, which ends its reads and writes.
    void abort() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        boost::system::error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(asio::ip::tcp::socket::shutdown_both,
                                                           ignored);
        beast::get_lowest_layer(stream_).socket().close(ignored);
        wake_.cancel();
    }

private:
    struct Queued {
        std::string frame;
        SteadyTime since;
    };

    // The next frame to write, if any; `closed` once the socket closed.
    std::optional<Queued> take(bool& closed) {
        std::lock_guard lock(mutex_);
        closed = closed_;
        if (closed_ || outbox_.empty()) return std::nullopt;
        auto next = std::move(outbox_.front());
        outbox_.pop_front();
        return next;
    }

    asio::awaitable<void> write_one(const Queued& next,
                                    const std::function<void(double)>& observe) {
        stream_.text(true);
        auto [error, written] = co_await stream_.async_write(asio::buffer(next.frame), kTuple);
        {
            std::lock_guard lock(mutex_);
            queued_bytes_ -= std::min(queued_bytes_, next.frame.size());
        }
        if (error) abort();
        if (!error && next.since != SteadyTime{}) {
            observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - next.since)
                        .count());
        }
    }

    const std::uint64_t id_;
    websocket::stream<beast::tcp_stream> stream_;
    asio::steady_timer wake_;
    std::mutex mutex_;
    std::deque<Queued> outbox_;
    std::size_t queued_bytes_ = 0;
    bool closed_ = false;
};

struct Hub::Impl : std::enable_shared_from_this<Hub::Impl> {
    struct Subscription {
        std::string uuid;
        Topic topic;
    };
    // A socket's subscriptions, kept for queue_ttl after it closed so that the changes it
    // would have seen are still reloaded into the replay queue. The socket is not owned
    // here: a closed socket must not outlive its own loop's work, or its stream's timers
    // keep that loop, and the server's drain, waiting.
    struct Client {
        std::weak_ptr<Socket> socket;
        std::vector<Subscription> subscriptions;
        SteadyTime closed_at{};  // zero while open
    };
    // A pushed object, kept queue_ttl for `since`.
    struct Pushed {
        double unix_time = 0;
        SteadyTime steady_time{};
        std::string path;
        const char* type = "UPDATE";
        UiResource resource = UiResource::runs;
        std::shared_ptr<const UiRow> row;
        std::shared_ptr<const std::string> data;
    };
    struct PendingChange {
        RowChange change;
        SteadyTime arrived;
    };

    HubContext context;
    HubOptions options;
    std::optional<asio::any_io_executor> executor;  // set once, before `started`
    // False once the hub's loop is gone: nothing may be posted to it then. The sockets'
    // loops and the store's change feed post from their threads until they end.
    std::mutex loop_mutex;
    bool loop_open = true;
    std::atomic<bool> started{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::int64_t> live_sockets{0};
    std::atomic<std::uint64_t> next_id{1};

    // Every open socket, for stop(): touched from the sockets' loops.
    std::mutex sockets_mutex;
    std::map<std::uint64_t, std::weak_ptr<Socket>> sockets;

    // Changes from the store's thread, not yet taken by the hub's loop.
    std::mutex pending_mutex;
    std::deque<PendingChange> pending;
    bool processing = false;  // a process_pending runs or is posted

    // The rest lives on the hub's loop.
    std::map<std::uint64_t, Client> clients;
    std::deque<Pushed> replay;
    std::set<Keys> watched_tasks;
    std::set<Keys> watched_runs;
    std::unique_ptr<asio::steady_timer> monitor_timer;

    mutable std::mutex stats_mutex;
    HubStats counters;

    Impl(HubContext c, HubOptions o) : context(std::move(c)), options(o) {}

    void observe_latency(double seconds) {
        std::lock_guard lock(stats_mutex);
        for (std::size_t i = 0; i < HubStats::kLatencyBuckets.size(); ++i) {
            if (seconds <= HubStats::kLatencyBuckets[i]) ++counters.latency_buckets[i];
        }
        ++counters.latency_count;
        counters.latency_sum += seconds;
    }

    void count_dropped() {
        std::lock_guard lock(stats_mutex);
        ++counters.dropped;
    }

    // --- changes, on the hub's loop ---

    // Runs `work` on the hub's loop, once started and while the loop exists.
    template <class Work>
    void post_to_hub(Work work) {
        if (!started.load(std::memory_order_acquire)) return;
        std::lock_guard lock(loop_mutex);
        if (loop_open) asio::post(*executor, std::move(work));
    }

    // From the store's thread. The changes wait in one queue for the hub's loop, which one
    // posted task works through: a busy writer's thousands of changes a second then cost the
    // loop no task each, and the hub's own work (its reads' replies) waits behind none of them.
    void accept_change(RowChange change) {
        if (stopping || !started.load(std::memory_order_acquire)) return;
        {
            std::lock_guard lock(pending_mutex);
            pending.push_back({std::move(change), std::chrono::steady_clock::now()});
            if (processing) return;
            processing = true;
        }
        post_to_hub([self = shared_from_this()] {
            asio::co_spawn(*self->executor, self->process_pending(), asio::detached);
        });
    }

    // The changes that arrived since, in their order; false (and no longer processing) when
    // none did.
    bool take_pending(std::deque<PendingChange>& batch) {
        std::lock_guard lock(pending_mutex);
        if (pending.empty() || stopping) {
            pending.clear();
            processing = false;
            return false;
        }
        batch.swap(pending);
        return true;
    }

    // The changes that arrived meanwhile, as one batch, in their order, so that frames keep
    // the order of the changes. Every push reads the row as it is now, after the whole batch:
    // an object updated many times in a batch (a run gets an UPDATE for each new task) is read
    // and pushed once, where it first changed. Without that, a busy run's updates outgrow
    // what the hub can read back, and every frame waits behind them.
    asio::awaitable<void> process_pending() {
        auto self = shared_from_this();
        std::deque<PendingChange> batch;
        while (take_pending(batch)) {
            std::vector<std::pair<Broadcast, SteadyTime>> pushes;
            std::set<std::string> updated;
            for (const auto& next : batch) {
                for (auto& broadcast : fan_out(next.change)) {
                    if (std::string_view(broadcast.type) == "UPDATE" &&
                        !updated.insert(identity(broadcast)).second)
                        continue;
                    pushes.emplace_back(std::move(broadcast), next.arrived);
                }
            }
            std::erase_if(pushes, [&](const auto& entry) { return !interested(entry.first); });
            auto rows = co_await read_back(pushes);
            for (std::size_t i = 0; i < pushes.size() && !stopping; ++i) {
                if (!rows[i]) continue;
                const auto& [broadcast, arrived] = pushes[i];
                publish(broadcast.type, broadcast.paths, broadcast.query.resource,
                        std::move(rows[i]), arrived);
            }
            batch.clear();
        }
    }

    // What tells one push from another: its paths and the filters that pick its row.
    static std::string identity(const Broadcast& broadcast) {
        std::string key;
        for (const auto& path : broadcast.paths) key += path + '\n';
        for (const auto& filter : broadcast.query.filters) {
            key += filter.field + '\n';
            for (const auto& value : filter.values) key += value.value_or("") + '\n';
        }
        return key;
    }

    // What a change shows to subscribers, and whom the monitors watch.
    std::vector<Broadcast> fan_out(const RowChange& change) {
        std::vector<Broadcast> out;
        const char* type = type_name(change.operation);
        if (change.operation == RowChange::Operation::remove) return out;  // nothing to reload
        Keys keys{change.flow_id, change.run_number.value_or(0), change.step_name.value_or(""),
                  change.task_id.value_or(0)};
        const bool has_task = change.run_number && change.step_name && change.task_id;
        switch (change.table) {
            case RowChange::Table::flows:
                out.push_back({UiListQuery{.resource = UiResource::flows,
                                           .scope = {.flow_id = change.flow_id}},
                               type,
                               {"/flows", "/flows/" + change.flow_id}});
                break;
            case RowChange::Table::runs:
                // Run updates are heartbeats and tag changes, which the reference does not
                // push either: the runs' statuses follow their tasks and `end` step.
                if (!change.run_number || change.operation != RowChange::Operation::insert) break;
                out.push_back(run_broadcast(keys, type));
                watched_runs.insert(Keys{keys.flow_id, keys.run_number, "", 0});
                break;
            case RowChange::Table::steps:
                if (!change.run_number || !change.step_name) break;
                out.push_back({UiListQuery{.resource = UiResource::steps,
                                           .scope = {.flow_id = change.flow_id,
                                                     .run = ObjectKey::number(keys.run_number),
                                                     .step_name = keys.step_name}},
                               type,
                               {keys.run_path() + "/steps", keys.step_path()}});
                break;
            case RowChange::Table::tasks:
                // Task updates are heartbeats: the monitors notice the tasks that stop.
                if (!has_task || change.operation != RowChange::Operation::insert) break;
                out.push_back(task_broadcast(keys, "INSERT", std::nullopt));
                out.push_back(run_broadcast(keys, "UPDATE"));
                watched_tasks.insert(keys);
                break;
            case RowChange::Table::metadata:
                metadata_fan_out(change, keys, out);
                break;
            case RowChange::Table::artifacts: {
                if (!has_task || !change.name) break;
                UiListQuery query{.resource = UiResource::artifacts, .scope = keys.task_scope()};
                query.filters.push_back(Filter{"name", FilterOp::eq, {*change.name}});
                if (change.attempt_id) {
                    query.filters.push_back(
                        Filter{"attempt_id", FilterOp::eq, {std::to_string(*change.attempt_id)}});
                }
                out.push_back({std::move(query),
                               "INSERT",
                               {keys.run_path() + "/artifacts", keys.step_path() + "/artifacts",
                                keys.task_path() + "/artifacts"}});
                break;
            }
        }
        return out;
    }

    void metadata_fan_out(const RowChange& change, const Keys& keys, std::vector<Broadcast>& out) {
        if (!change.run_number || !change.step_name || !change.task_id || !change.field_name)
            return;
        UiListQuery query{
            .resource = UiResource::metadata, .scope = keys.task_scope(), .order = {{"id", true}}};
        query.filters.push_back(Filter{"field_name", FilterOp::eq, {*change.field_name}});
        if (change.value) query.filters.push_back(Filter{"value", FilterOp::eq, {*change.value}});
        out.push_back({std::move(query),
                       "INSERT",
                       {keys.run_path() + "/metadata", keys.task_path() + "/metadata"}});
        if (*change.field_name == "attempt") {
            // A retry is a new row of the task lists.
            const auto attempt = parse_number<std::int64_t>(change.value.value_or("")).value_or(0);
            out.push_back(task_broadcast(keys, attempt > 0 ? "INSERT" : "UPDATE", attempt));
            watched_tasks.insert(keys);
        } else if (*change.field_name == "attempt_ok") {
            out.push_back(task_broadcast(keys, "UPDATE", attempt_of(change.tags)));
            watched_tasks.erase(keys);
            if (keys.step_name == "end") {
                out.push_back(run_broadcast(keys, "UPDATE"));
                watched_runs.erase(Keys{keys.flow_id, keys.run_number, "", 0});
            }
        }
    }

    // Whether a subscription listens to one of the broadcast's paths and may want its object,
    // as far as the filters on the object's keys tell before it is read: a busy flow's
    // changes cost no read while every socket on its path filters for another flow.
    bool interested(const Broadcast& broadcast) {
        for (const auto& [id, client] : clients) {
            for (const auto& subscription : client.subscriptions) {
                for (const auto& path : broadcast.paths) {
                    if (subscription.topic.path == path &&
                        scope_may_match(broadcast.query.resource, broadcast.query.scope,
                                        subscription.topic.filters))
                        return true;
                }
            }
        }
        return false;
    }

    // The reads of a batch's pushes, begun together and awaited together.
    struct ReadBack {
        explicit ReadBack(const asio::any_io_executor& executor, std::size_t count)
            : rows(count),
              remaining(count),
              done(executor, asio::steady_timer::time_point::max()) {}
        std::vector<std::shared_ptr<const UiRow>> rows;  // null: gone, or not read
        std::size_t remaining;
        asio::steady_timer done;  // cancelled by the last read
    };

    // The object each push shows, as it is now. The reads are begun together, so that a
    // change never waits for the reads of those before it in the batch: on PostgreSQL the
    // hub's pool sends them to the database as one batch, one round trip for all.
    asio::awaitable<std::vector<std::shared_ptr<const UiRow>>> read_back(
        std::vector<std::pair<Broadcast, SteadyTime>>& pushes) {
        auto reads = std::make_shared<ReadBack>(*executor, pushes.size());
        const auto clock = context.status_clock();
        for (std::size_t i = 0; i < pushes.size(); ++i) {
            auto& query = pushes[i].first.query;
            query.clock = clock;
            query.limit = 1;
            asio::co_spawn(*executor, read_one(reads, i, query), asio::detached);
        }
        // co_spawn runs each read at once on this loop up to its first wait, so one that needs
        // no wait (SQLite's) has ended already, and the last may have cancelled the timer
        // before anything waited on it.
        if (reads->remaining > 0) co_await reads->done.async_wait(kTuple);
        co_return std::move(reads->rows);
    }

    asio::awaitable<void> read_one(std::shared_ptr<ReadBack> reads, std::size_t index,
                                   UiListQuery query) {
        auto self = shared_from_this();
        auto rows = co_await context.reader.ui_list(std::move(query));
        if (!rows) {
            spdlog::warn("realtime: cannot reload a changed row: {}", rows.error().message);
        } else if (!rows->empty()) {
            reads->rows[index] = std::make_shared<const UiRow>(std::move(rows->front()));
        }
        if (--reads->remaining == 0) reads->done.cancel();
    }

    void publish(const char* type, const std::vector<std::string>& paths, UiResource resource,
                 std::shared_ptr<const UiRow> row, SteadyTime arrived) {
        auto data = std::make_shared<std::string>();
        context.write_row(*data, resource, *row);
        {
            std::lock_guard lock(stats_mutex);
            ++counters.events;
        }
        const double now = unix_seconds();
        for (const auto& path : paths) {
            replay.push_back({now, arrived, path, type, resource, row, data});
            for (auto& [id, client] : clients) {
                const auto socket = client.socket.lock();
                if (!socket) continue;
                for (const auto& subscription : client.subscriptions) {
                    if (subscription.topic.path != path) continue;
                    if (!row_matches(resource, *row, subscription.topic.filters,
                                     subscription.topic.tag_filters))
                        continue;
                    send(*socket, frame(type, subscription.uuid, path, *data), arrived);
                }
            }
        }
        expire(std::chrono::steady_clock::now());
    }

    static std::string frame(const char* type, const std::string& uuid, const std::string& path,
                             const std::string& data) {
        std::string out;
        out.reserve(data.size() + uuid.size() + path.size() + 64);
        out += R"({"type": ")";
        out += type;
        out += R"(", "uuid": )";
        out += quoted(uuid);
        out += R"(, "resource": )";
        out += quoted(path);
        out += R"(, "data": )";
        out += data;
        out += '}';
        return out;
    }

    void send(Socket& socket, std::string text, SteadyTime since) {
        if (!socket.send(std::move(text), since, options.send_queue_bytes)) {
            spdlog::warn("realtime: socket {} reads too slowly, dropped", socket.id());
            count_dropped();
        }
    }

    void expire(SteadyTime now) {
        while (!replay.empty() && now - replay.front().steady_time > options.queue_ttl)
            replay.pop_front();
        std::erase_if(clients, [&](const auto& entry) {
            return entry.second.closed_at != SteadyTime{} &&
                   now - entry.second.closed_at > options.queue_ttl;
        });
    }

    // --- sockets' requests, on the hub's loop ---

    void subscribe(std::uint64_t id, std::string uuid, Topic topic, std::optional<double> since) {
        auto found = clients.find(id);
        if (found == clients.end()) return;
        auto& client = found->second;
        const auto socket = client.socket.lock();
        if (!socket) return;
        std::erase_if(client.subscriptions,
                      [&](const Subscription& subscription) { return subscription.uuid == uuid; });
        if (client.subscriptions.size() >= options.max_subscriptions) {
            spdlog::warn("realtime: socket {} has {} subscriptions, ignoring another", id,
                         client.subscriptions.size());
            return;
        }
        client.subscriptions.push_back({uuid, std::move(topic)});
        if (!since) return;
        const auto& subscription = client.subscriptions.back();
        for (const auto& pushed : replay) {
            if (pushed.unix_time < *since || pushed.path != subscription.topic.path) continue;
            if (!row_matches(pushed.resource, *pushed.row, subscription.topic.filters,
                             subscription.topic.tag_filters))
                continue;
            send(*socket, frame(pushed.type, uuid, pushed.path, *pushed.data), SteadyTime{});
        }
    }

    void unsubscribe(std::uint64_t id, const std::string& uuid) {
        auto found = clients.find(id);
        if (found == clients.end()) return;
        std::erase_if(found->second.subscriptions,
                      [&](const Subscription& subscription) { return subscription.uuid == uuid; });
    }

    void on_hub(std::function<void(Impl&)> work) {
        post_to_hub([self = shared_from_this(), work = std::move(work)] { work(*self); });
    }

    // A frame from the client: SUBSCRIBE, UNSUBSCRIBE or __ping__; anything else is ignored.
    void read_message(Socket& socket, std::string_view text) {
        if (text == "__ping__") {
            // Through the hub, so that it follows the replays of the subscriptions before
            // it; untimed, as the latency histogram is about changes.
            on_hub([self = socket.shared_from_this()](Impl& hub) {
                self->send("__pong__", SteadyTime{}, hub.options.send_queue_bytes);
            });
            return;
        }
        boost::system::error_code error;
        auto parsed = json::parse(text, error);
        if (error || !parsed.is_object()) return;
        const auto& message = parsed.as_object();
        const auto* type = message.if_contains("type");
        const auto* uuid = message.if_contains("uuid");
        if (!type || !type->is_string() || !uuid || !uuid->is_string()) return;
        const std::uint64_t id = socket.id();
        std::string key(uuid->as_string());
        if (type->as_string() == "UNSUBSCRIBE") {
            on_hub([id, key](Impl& hub) { hub.unsubscribe(id, key); });
            return;
        }
        if (type->as_string() != "SUBSCRIBE") return;
        const auto* resource = message.if_contains("resource");
        if (!resource || !resource->is_string()) return;
        auto topic = context.parse_topic(resource->as_string());
        if (!topic) return;
        auto since = since_of(message.if_contains("since"));
        on_hub([id, key, topic = std::move(*topic), since](Impl& hub) mutable {
            hub.subscribe(id, key, std::move(topic), since);
        });
    }

    void start_writing(const std::shared_ptr<Socket>& socket) {
        asio::co_spawn(
            socket->executor(),
            [socket, observe = latency_observer()]() -> asio::awaitable<void> {
                co_await socket->write_loop(observe);
            },
            asio::detached);
    }

    std::function<void(std::string_view)> reader_for(const std::shared_ptr<Socket>& socket) {
        return [this, socket](std::string_view text) { read_message(*socket, text); };
    }

    std::function<void(double)> latency_observer() {
        return [self = shared_from_this()](double seconds) { self->observe_latency(seconds); };
    }

    void socket_opened(const std::shared_ptr<Socket>& socket) {
        on_hub([socket](Impl& hub) { hub.clients[socket->id()].socket = socket; });
    }

    void socket_closed(std::uint64_t id) {
        on_hub([id](Impl& hub) {
            auto found = hub.clients.find(id);
            if (found == hub.clients.end()) return;
            found->second.closed_at = std::chrono::steady_clock::now();
        });
    }

    // Arguments of a co_await's operand are named objects: GCC 12 destroys temporaries
    // there twice.
    asio::awaitable<void> serve(asio::ip::tcp::socket tcp, std::string target,
                                std::vector<std::pair<std::string, std::string>> headers) {
        auto socket = std::make_shared<Socket>(std::move(tcp), next_id++);
        socket->configure(options.idle_timeout);
        const bool accepted = co_await accept_upgrade(socket->stream(), target, headers);
        if (!accepted) co_return;
        co_await run(socket);
    }

    asio::awaitable<void> run(const std::shared_ptr<Socket>& socket) {
        opened(socket);
        beast::flat_buffer buffer;
        const auto read = reader_for(socket);
        bool open = true;
        while (open) open = co_await socket->read_one(buffer, read);
        closed(*socket);
    }

    void opened(const std::shared_ptr<Socket>& socket) {
        ++live_sockets;
        {
            std::lock_guard lock(sockets_mutex);
            sockets[socket->id()] = socket;
        }
        socket_opened(socket);
        start_writing(socket);
        if (stopping) socket->close();
    }

    void closed(Socket& socket) {
        socket.abort();
        --live_sockets;
        {
            std::lock_guard lock(sockets_mutex);
            sockets.erase(socket.id());
        }
        socket_closed(socket.id());
    }

    // Reads each resource as a push reads it, for keys no row has: the first pushes then find
    // the caches of the hub's database connection filled instead of paying for them (on
    // PostgreSQL, the catalog's; the first reads of a new connection took 50 to 130 ms on a
    // busy machine).
    asio::awaitable<void> warm_up() {
        auto self = shared_from_this();
        const Keys nothing{"", 0, "", 0};
        std::vector<UiListQuery> reads{
            UiListQuery{.resource = UiResource::flows, .scope = {.flow_id = ""}},
            run_broadcast(nothing, "UPDATE").query,
            UiListQuery{.resource = UiResource::steps,
                        .scope = {.flow_id = "", .run = ObjectKey::number(0), .step_name = ""}},
            task_broadcast(nothing, "UPDATE", std::nullopt).query,
            UiListQuery{.resource = UiResource::metadata, .scope = nothing.task_scope()},
            UiListQuery{.resource = UiResource::artifacts, .scope = nothing.task_scope()}};
        for (auto& read : reads) {
            if (stopping) co_return;
            read.clock = context.status_clock();
            read.limit = 1;
            auto ignored = co_await context.reader.ui_list(std::move(read));
        }
    }

    // --- heartbeat monitors, on the hub's loop ---

    asio::awaitable<void> monitor_loop() {
        auto self = shared_from_this();
        while (!stopping) {
            monitor_timer->expires_after(options.monitor_interval);
            auto [error] = co_await monitor_timer->async_wait(kTuple);
            if (error || stopping) co_return;
            co_await check_watched(watched_runs, UiResource::runs);
            co_await check_watched(watched_tasks, UiResource::tasks);
        }
    }

    // Pushes the watched runs or tasks that failed since, and forgets those that ended: one
    // read of all of them.
    asio::awaitable<void> check_watched(std::set<Keys>& watched, UiResource resource) {
        if (watched.empty() || stopping) co_return;
        const bool tasks = resource == UiResource::tasks;
        UiListQuery query{.resource = resource, .keys = std::vector<UiKey>{}};
        for (const auto& key : watched) {
            query.keys->push_back(UiKey{key.flow_id, key.run_number, key.step_name, key.task_id});
        }
        query.clock = context.status_clock();
        auto rows = co_await context.reader.ui_list(std::move(query));
        if (!rows) {
            spdlog::warn("realtime: cannot read the watched {}: {}", tasks ? "tasks" : "runs",
                         rows.error().message);
            co_return;
        }
        const auto cell = [&](const UiRow& row, std::string_view name) -> std::string {
            const auto columns = ui_columns(resource);
            for (std::size_t i = 0; i < columns.size(); ++i) {
                if (columns[i].name == name) return row.at(i).value_or("");
            }
            return {};
        };
        for (auto& row : *rows) {
            const auto status = cell(row, "status");
            if (status == "running" || status == "pending") continue;
            Keys key{cell(row, "flow_id"),
                     parse_number<std::int64_t>(cell(row, "run_number")).value_or(0),
                     tasks ? cell(row, "step_name") : "",
                     tasks ? parse_number<std::int64_t>(cell(row, "task_id")).value_or(0) : 0};
            // One that ended while it was read is done with already.
            if (watched.erase(key) == 0 || status != "failed") continue;
            const auto broadcast =
                tasks ? task_broadcast(key, "UPDATE", std::nullopt) : run_broadcast(key, "UPDATE");
            if (!interested(broadcast)) continue;
            publish("UPDATE", broadcast.paths, resource,
                    std::make_shared<const UiRow>(std::move(row)),
                    std::chrono::steady_clock::now());
        }
    }
};

// The hub's event loop and its thread; kept running by `work` until the hub stops.
struct Hub::Loop {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread;
};

Hub::Hub(HubContext context, HubOptions options)
    : impl_(std::make_shared<Impl>(std::move(context), options)) {}

Hub::~Hub() {
    stop();
    if (!loop_) return;
    {
        std::lock_guard lock(impl_->loop_mutex);
        impl_->loop_open = false;
    }
    // Reads still in flight by now are given up on; their coroutines end with the loop.
    loop_->io.stop();
    loop_->thread.join();
    impl_->monitor_timer.reset();
    loop_.reset();
}

void Hub::start() {
    loop_ = std::make_unique<Loop>();
    const auto executor = loop_->io.get_executor();
    impl_->executor = executor;
    impl_->monitor_timer = std::make_unique<asio::steady_timer>(executor);
    asio::co_spawn(executor, impl_->warm_up(), asio::detached);
    asio::co_spawn(executor, impl_->monitor_loop(), asio::detached);
    loop_->thread = std::thread([&io = loop_->io] {
        pthread_setname_np(pthread_self(), "mf-realtime");
        io.run();
    });
    impl_->started.store(true, std::memory_order_release);
}

asio::any_io_executor Hub::executor() const {
    return loop_->io.get_executor();
}

void Hub::stop() {
    if (impl_->stopping.exchange(true)) return;
    std::vector<std::shared_ptr<Socket>> open;
    {
        std::lock_guard lock(impl_->sockets_mutex);
        for (auto& [id, socket] : impl_->sockets) {
            if (auto alive = socket.lock()) open.push_back(std::move(alive));
        }
    }
    for (auto& socket : open) socket->close();
    impl_->on_hub([](Impl& hub) {
        if (hub.monitor_timer) hub.monitor_timer->cancel();
    });
    if (loop_) loop_->work.reset();
}

ChangeSink Hub::sink() {
    return [weak = std::weak_ptr<Impl>(impl_)](RowChange change) {
        if (auto hub = weak.lock()) hub->accept_change(std::move(change));
    };
}

bool Hub::accepting() const {
    return impl_->started.load(std::memory_order_acquire) && !impl_->stopping &&
           impl_->live_sockets.load() < static_cast<std::int64_t>(impl_->options.max_sockets);
}

asio::awaitable<void> Hub::serve(asio::ip::tcp::socket socket, std::string target,
                                 std::vector<std::pair<std::string, std::string>> headers) {
    return impl_->serve(std::move(socket), std::move(target), std::move(headers));
}

HubStats Hub::stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    HubStats stats = impl_->counters;
    stats.connections = impl_->live_sockets.load();
    return stats;
}

}  // namespace mf::realtime
