// The realtime websocket of the UI listener, through a real websocket client against the
// real service, on each store: every resource kind with the object its GET route renders,
// filters, replay with `since`, unsubscribe, ping/pong, keys on the upgrade, a slow reader
// dropped while a fast one keeps up, the heartbeat monitor (of one task and of several, of
// which only some stop), a SIGTERM with websockets open and closed; on PostgreSQL, the changes of
// another process and of plain SQL (flows, runs, steps and tasks, as the Python service
// writes them), a change pushed while every connection of the server's requests is busy, and
// the service's own writes pushed once (not again when their notifications arrive).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "api/api_test_util.hpp"
#include "realtime/ws_client.hpp"
#include "store/postgres/pg_connection.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;
using api::artifact_item;
using api::metadata_item;

constexpr std::int64_t kNowMs = 1'800'000'000'000;
const std::string kRun = "/flows/F/runs/1";
const std::string kTask = kRun + "/steps/start/tasks/1";

TestServerOptions realtime_options() {
    auto options = ui::ui_options();
    options.manual_clock = true;
    return options;
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The frames of one subscription.
std::vector<json::object> of(const std::vector<json::object>& frames, const std::string& uuid) {
    std::vector<json::object> mine;
    for (const auto& frame : frames) {
        if (frame.at("uuid").as_string() == uuid) mine.push_back(frame);
    }
    return mine;
}

class Realtime : public ::testing::Test {
protected:
    explicit Realtime(TestServerOptions options = realtime_options()) : server_(options) {
        server_.clock().set_ms(kNowMs);
    }

    void post(const std::string& target, const json::value& body) {
        auto response = api_.post(target, json::serialize(body));
        ASSERT_EQ(response.status, 200u) << target << ": " << response.body;
    }

    void create_flow_and_run() {
        post("/flows/F", json::object{{"user_name", "alice"}});
        post("/flows/F/run", json::object{{"user_name", "alice"},
                                          {"tags", json::array{"t1"}},
                                          {"system_tags", json::array{"user:alice"}}});
    }

    // Flow F, run 1, step start, task 1 with its first attempt, an artifact.
    void write_a_run() {
        create_flow_and_run();
        post(kRun + "/steps/start/step", json::object{{"user_name", "alice"}});
        post(kRun + "/steps/start/task", json::object{{"user_name", "alice"}});
        post(kTask + "/metadata", json::array{metadata_item("attempt", "0", "attempt")});
        post(kTask + "/artifact", json::array{artifact_item("x")});
    }

    json::value get_data(const std::string& target) {
        auto response = ui_.get(target);
        EXPECT_EQ(response.status, 200u) << target << ": " << response.body;
        return response.json().as_object().at("data");
    }

    TestServer server_;
    HttpClient api_ = server_.client();
    HttpClient ui_ = server_.ui_client();
};

TEST_F(Realtime, EveryResourceKindGetsItsObjectAsItsGetRouteRendersIt) {
    const std::map<std::string, std::string> subscriptions = {
        {"flows", "/flows"},
        {"flow", "/flows/F"},
        {"runs", "/runs"},
        {"flow-runs", "/flows/F/runs"},
        {"run", kRun},
        {"steps", kRun + "/steps"},
        {"step", kRun + "/steps/start"},
        {"tasks", kRun + "/tasks"},
        {"step-tasks", kRun + "/steps/start/tasks"},
        {"task", kTask},
        {"attempts", kTask + "/attempts"},
        {"run-metadata", kRun + "/metadata"},
        {"task-metadata", kTask + "/metadata"},
        {"run-artifacts", kRun + "/artifacts"},
        {"step-artifacts", kRun + "/steps/start/artifacts"},
        {"task-artifacts", kTask + "/artifacts"},
    };
    WsClient ws(server_.ui_port());
    for (const auto& [uuid, resource] : subscriptions) ws.subscribe(uuid, resource);
    EXPECT_TRUE(ws.sync().empty());
    write_a_run();
    auto frames = ws.until(
        [](const json::object& frame) { return frame.at("uuid").as_string() == "task-artifacts"; });
    for (auto& frame : ws.sync()) frames.push_back(frame);
    for (const auto& [uuid, resource] : subscriptions) {
        const auto mine = of(frames, uuid);
        ASSERT_FALSE(mine.empty()) << uuid << " got nothing";
        for (const auto& frame : mine) EXPECT_EQ(frame.at("resource").as_string(), resource);
    }
    EXPECT_EQ(of(frames, "flow").front().at("type").as_string(), "INSERT");
    EXPECT_EQ(of(frames, "flow").back().at("data"), get_data("/flows/F"));
    // The run is inserted, then updated by its new task.
    const auto run = of(frames, "run");
    EXPECT_EQ(run.front().at("type").as_string(), "INSERT");
    EXPECT_EQ(run.back().at("type").as_string(), "UPDATE");
    EXPECT_EQ(run.back().at("data"), get_data(kRun));
    EXPECT_EQ(run.back().at("data").at("status").as_string(), "running");
    EXPECT_EQ(of(frames, "step").back().at("data"), get_data(kRun + "/steps/start"));
    EXPECT_EQ(of(frames, "task").back().at("data"), get_data(kTask));
    EXPECT_EQ(of(frames, "task-metadata").back().at("data"),
              get_data(kTask + "/metadata").as_array().front());
    EXPECT_EQ(of(frames, "task-artifacts").back().at("data"),
              get_data(kTask + "/artifacts").as_array().front());
}

// The keys of an object, in order.
std::vector<std::string> keys_of(const json::object& object) {
    std::vector<std::string> keys;
    for (const auto& entry : object) keys.emplace_back(entry.key());
    return keys;
}

TEST_F(Realtime, FramesHaveTheKeysOfTheReferencesInTheirOrder) {
    std::ifstream file(std::string(MF_TEST_FIXTURES) + "/ui-ws-frames.jsonl");
    std::map<std::string, json::object> recorded;  // by the resource's last segment
    for (std::string line; std::getline(file, line);) {
        auto frame = json::parse(line).as_object().at("json").as_object();
        std::string resource(frame.at("resource").as_string());
        recorded[resource.substr(resource.rfind('/') + 1)] = frame;
    }
    ASSERT_EQ(recorded.size(), 6u);
    WsClient ws(server_.ui_port());
    for (const auto& [kind, frame] : recorded) {
        ws.subscribe(kind, kind == "flows" || kind == "runs"    ? "/" + kind
                           : kind == "steps" || kind == "tasks" ? kRun + "/" + kind
                                                                : kTask + "/" + kind);
    }
    ws.sync();
    write_a_run();
    auto frames = ws.until(
        [](const json::object& frame) { return frame.at("uuid").as_string() == "artifacts"; });
    for (const auto& [kind, expected] : recorded) {
        const auto mine = of(frames, kind);
        ASSERT_FALSE(mine.empty()) << kind;
        EXPECT_EQ(keys_of(mine.front()), keys_of(expected)) << kind;
        auto expected_data = keys_of(expected.at("data").as_object());
        // The reference adds the artifact's value, read from the datastore.
        std::erase(expected_data, "content");
        EXPECT_EQ(keys_of(mine.front().at("data").as_object()), expected_data) << kind;
    }
}

TEST_F(Realtime, RetriesAreNewRowsAndTheEndStepFinishesTheRun) {
    write_a_run();
    WsClient ws(server_.ui_port());
    ws.subscribe("tasks", kRun + "/tasks");
    ws.subscribe("run", kRun);
    ws.sync();
    post(kTask + "/metadata", json::array{metadata_item("attempt", "1", "attempt", 1)});
    auto retry =
        ws.until([](const json::object& frame) { return frame.at("uuid").as_string() == "tasks"; });
    EXPECT_EQ(retry.back().at("type").as_string(), "INSERT");
    EXPECT_EQ(retry.back().at("data").at("attempt_id"), json::value(1));
    post(kRun + "/steps/end/step", json::object{{"user_name", "alice"}});
    post(kRun + "/steps/end/task", json::object{{"user_name", "alice"}});
    post(kRun + "/steps/end/tasks/2/metadata",
         json::array{metadata_item("attempt_ok", "True", "internal_attempt_status")});
    auto finished = ws.until([](const json::object& frame) {
        return frame.at("uuid").as_string() == "run" &&
               frame.at("data").at("status").as_string() == "completed";
    });
    EXPECT_EQ(finished.back().at("type").as_string(), "UPDATE");
}

TEST_F(Realtime, FiltersOfTheQuerySelectTheObjectsPushed) {
    WsClient ws(server_.ui_port());
    ws.subscribe("alice", "/runs?user_name=alice");
    ws.subscribe("bob", "/runs?user_name=bob");
    ws.subscribe("alice-or-bob", "/runs?user_name=bob,alice");
    ws.subscribe("tag", "/runs?_tags=t1");
    ws.subscribe("other-tag", "/runs?_tags=t2");
    ws.subscribe("any-tag", "/runs?_tags:any=t2,user:alice");
    ws.subscribe("like-tag", "/runs?_tags:likeany=ser:al");
    ws.subscribe("newer", "/runs?ts_epoch%3Age=" + std::to_string(kNowMs - 1));
    ws.subscribe("older", "/runs?ts_epoch:lt=" + std::to_string(kNowMs - 1));
    ws.subscribe("flow-prefix", "/runs?flow_id:sw=f");
    ws.subscribe("status", "/runs?status=failed");
    ws.subscribe("other-status", "/runs?status=completed");
    ws.subscribe("other-path", "/flows/G/runs");
    ws.sync();
    create_flow_and_run();
    auto frames = ws.until(
        [](const json::object& frame) { return frame.at("uuid").as_string() == "status"; });
    for (auto& frame : ws.sync()) frames.push_back(frame);
    std::set<std::string> got;
    for (const auto& frame : frames) got.insert(std::string(frame.at("uuid").as_string()));
    ws.subscribe("marker", "/runs");
    post("/flows/F/run", json::object{{"user_name", "carol"}});
    for (const auto& frame : ws.until(
             [](const json::object& frame) { return frame.at("uuid").as_string() == "marker"; })) {
        got.insert(std::string(frame.at("uuid").as_string()));
    }
    for (const auto* uuid : {"alice", "alice-or-bob", "tag", "any-tag", "like-tag", "newer",
                             "flow-prefix", "status"}) {
        EXPECT_TRUE(got.count(uuid)) << uuid;
    }
    for (const auto* uuid : {"bob", "other-tag", "older", "other-status", "other-path"}) {
        EXPECT_FALSE(got.count(uuid)) << uuid;
    }
}

// An object that no subscription's filters on its keys can match is not read back: the events
// counter counts the objects read and pushed.
TEST_F(Realtime, ObjectsTheKeyFiltersOfNoSubscriptionMatchAreNotReadBack) {
    WsClient ws(server_.ui_port());
    ws.subscribe("runs", "/runs?flow_id=G");
    ws.subscribe("flows", "/flows?flow_id=G,H");
    ws.sync();
    create_flow_and_run();
    post("/flows/G", json::object{{"user_name", "bob"}});
    post("/flows/G/run", json::object{{"user_name", "bob"}});
    auto frames =
        ws.until([](const json::object& frame) { return frame.at("uuid").as_string() == "runs"; });
    for (auto& frame : ws.sync()) frames.push_back(frame);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(of(frames, "flows").front().at("data").at("flow_id").as_string(), "G");
    EXPECT_EQ(of(frames, "runs").front().at("data").at("flow_id").as_string(), "G");
    const auto metrics = api_.get("/metrics").body;
    EXPECT_NE(metrics.find("mf_ws_events_total 2\n"), std::string::npos) << metrics;
}

TEST_F(Realtime, SinceReplaysWhatWasPushedBefore) {
    const double before = unix_now() - 1;
    {
        WsClient first(server_.ui_port());
        first.subscribe("runs", "/runs");
        first.sync();
        create_flow_and_run();
        first.until(
            [](const json::object& frame) { return frame.at("uuid").as_string() == "runs"; });
    }
    WsClient again(server_.ui_port());
    again.subscribe("as-number", "/runs", json::value(static_cast<std::int64_t>(before)));
    again.subscribe("as-string", "/runs",
                    json::value(std::to_string(static_cast<std::int64_t>(before))));
    again.subscribe("future", "/runs", json::value(static_cast<std::int64_t>(unix_now() + 3600)));
    again.subscribe("filtered-out", "/runs?user_name=bob", json::value(before));
    again.subscribe("without", "/runs");
    const auto frames = again.sync();
    ASSERT_EQ(of(frames, "as-number").size(), 1u);
    EXPECT_EQ(of(frames, "as-number").front().at("type").as_string(), "INSERT");
    EXPECT_EQ(of(frames, "as-number").front().at("data").at("run_number"), json::value(1));
    EXPECT_EQ(of(frames, "as-string").size(), 1u);
    EXPECT_TRUE(of(frames, "future").empty());
    EXPECT_TRUE(of(frames, "filtered-out").empty());
    EXPECT_TRUE(of(frames, "without").empty());
}

TEST_F(Realtime, UnsubscribedAndMalformedMessagesGetNothing) {
    WsClient ws(server_.ui_port());
    ws.send("this is not json");
    ws.send(R"({"type":"SUBSCRIBE","uuid":"missing-resource"})");
    ws.send(R"({"type":"BOGUS","uuid":"x","resource":"/flows"})");
    ws.subscribe("not-subscribable", "/flows/F/runs/1/logs");
    ws.subscribe("gone", "/flows");
    ws.unsubscribe("gone");
    ws.subscribe("replaced", "/runs");
    ws.subscribe("replaced", "/flows");
    ws.subscribe("kept", "/flows");
    EXPECT_TRUE(ws.sync().empty());
    post("/flows/F", json::object{{"user_name", "alice"}});
    post("/flows/F/run", json::object{{"user_name", "alice"}});
    auto frames =
        ws.until([](const json::object& frame) { return frame.at("uuid").as_string() == "kept"; });
    for (auto& frame : ws.sync()) frames.push_back(frame);
    EXPECT_TRUE(of(frames, "gone").empty());
    EXPECT_TRUE(of(frames, "missing-resource").empty());
    EXPECT_TRUE(of(frames, "x").empty());
    for (const auto& frame : frames) EXPECT_EQ(frame.at("resource").as_string(), "/flows");
}

TEST_F(Realtime, PlainGetAnswers400AndMetricsCountSockets) {
    auto plain = ui_.get("/ws");
    EXPECT_EQ(plain.status, 400u);
    WsClient ws(server_.ui_port());
    ws.subscribe("flows", "/flows");
    ws.sync();
    post("/flows/F", json::object{{"user_name", "alice"}});
    ws.until([](const json::object& frame) { return frame.at("uuid").as_string() == "flows"; });
    // The latency is observed when the write completes, which the server may learn after the
    // client has already read the frame.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto metrics = api_.get("/metrics").body;
    while (metrics.find("mf_ws_event_to_frame_seconds_count 1\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        metrics = api_.get("/metrics").body;
    }
    EXPECT_NE(metrics.find("mf_ws_connections 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("mf_ws_events_total 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("mf_ws_event_to_frame_seconds_count 1\n"), std::string::npos) << metrics;
}

TEST(RealtimeAccess, TheUpgradeNeedsAKeyAsTheUiListener) {
    auto options = realtime_options();
    options.security.api_keys = "viewer:s3cret read-only";
    TestServer server(options);
    EXPECT_ANY_THROW(WsClient(server.ui_port()));
    WsClient by_header(server.ui_port(), {{"x-api-key", "s3cret"}});
    by_header.send("__ping__");
    EXPECT_EQ(by_header.next().value_or(""), "__pong__");
    // "any:s3cret" in base64.
    WsClient by_basic(server.ui_port(), {{"authorization", "Basic YW55OnMzY3JldA=="}});
    by_basic.send("__ping__");
    EXPECT_EQ(by_basic.next().value_or(""), "__pong__");
}

TEST(RealtimeBackpressure, ASlowReaderIsDroppedWithoutDelayingAFastOne) {
    ui::ScopedEnv small_queue("MF_UI_WS_SEND_QUEUE_BYTES", "1048576");
    TestServer server(realtime_options());
    HttpClient api = server.client();
    ASSERT_EQ(api.post("/flows/F", "{}").status, 200u);
    ASSERT_EQ(api.post("/flows/F/run", "{}").status, 200u);
    ASSERT_EQ(api.post(kRun + "/steps/start/step", "{}").status, 200u);
    ASSERT_EQ(api.post(kRun + "/steps/start/task", "{}").status, 200u);
    WsClient slow(server.ui_port(), {}, 4096);
    // Sixteen times the fast socket's frames, far beyond the send queue and the kernel's
    // buffers; the fast socket's all fit its queue, however late its reader runs.
    constexpr int kSlowSubscriptions = 16;
    for (int i = 0; i < kSlowSubscriptions; ++i)
        slow.subscribe("slow-" + std::to_string(i), kRun + "/artifacts");
    slow.sync();
    WsClient fast(server.ui_port());
    fast.subscribe("fast", kRun + "/artifacts");
    fast.sync();
    constexpr int kBatches = 4;
    constexpr int kPerBatch = 125;
    const std::string last = "a" + std::to_string(kBatches * kPerBatch - 1);
    // The fast socket is read while the writes go on, as a browser reads.
    std::vector<json::object> frames;
    std::thread fast_reader([&] {
        frames = fast.until(
            [&](const json::object& frame) {
                return frame.at("data").at("name").as_string() == last;
            },
            std::chrono::seconds(60));
    });
    for (int batch = 0; batch < kBatches; ++batch) {
        json::array artifacts;
        for (int i = 0; i < kPerBatch; ++i) {
            auto item = artifact_item("a" + std::to_string(batch * kPerBatch + i));
            // Fields at their longest, for large frames.
            for (const auto* field : {"location", "sha", "type", "content_type"})
                item[field] = std::string(250, 'x');
            artifacts.push_back(item);
        }
        EXPECT_EQ(api.post(kTask + "/artifact", json::serialize(artifacts)).status, 200u);
    }
    fast_reader.join();
    EXPECT_EQ(frames.size(), static_cast<std::size_t>(kBatches * kPerBatch));
    // The slow socket was closed: reading what it holds ends with the connection, not with
    // a wait for more.
    std::size_t slow_frames = 0;
    while (slow.next(std::chrono::seconds(5))) ++slow_frames;
    EXPECT_LT(slow_frames, static_cast<std::size_t>(kSlowSubscriptions * kBatches * kPerBatch));
    EXPECT_NE(slow.last_error(), boost::asio::error::would_block) << slow.last_error().message();
    EXPECT_NE(slow.last_error(), boost::asio::error::try_again) << slow.last_error().message();
    EXPECT_NE(api.get("/metrics").body.find("mf_ws_dropped_total 1\n"), std::string::npos);
}

// Monitors that look every 200 ms, over flow F, run 1 and its step start.
class RealtimeMonitor : public ::testing::Test {
protected:
    void SetUp() override {
        server.clock().set_ms(kNowMs);
        ASSERT_EQ(api.post("/flows/F", "{}").status, 200u);
        ASSERT_EQ(api.post("/flows/F/run", "{}").status, 200u);
        ASSERT_EQ(api.post(kRun + "/steps/start/step", "{}").status, 200u);
    }

    ui::ScopedEnv fast_monitor{"MF_UI_HEARTBEAT_MONITOR_INTERVAL_MS", "200"};
    TestServer server{realtime_options()};
    HttpClient api = server.client();
};

TEST_F(RealtimeMonitor, ATaskWhoseHeartbeatsStopIsPushedAsFailed) {
    WsClient ws(server.ui_port());
    ws.subscribe("task", kTask);
    ws.sync();
    ASSERT_EQ(api.post(kRun + "/steps/start/task", "{}").status, 200u);
    ws.until([](const json::object& frame) { return frame.at("type").as_string() == "INSERT"; });
    // Nothing while the heartbeat is fresh.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(ws.sync().empty());
    server.clock().set_ms(kNowMs + 120'000);
    auto failed = ws.until([](const json::object& frame) {
        return frame.at("data").at("status").as_string() == "failed";
    });
    EXPECT_EQ(failed.back().at("type").as_string(), "UPDATE");
    EXPECT_EQ(failed.back().at("resource").as_string(), kTask);
}

TEST_F(RealtimeMonitor, OfSeveralWatchedTasksOnlyThoseWhoseHeartbeatsStopArePushedAsFailed) {
    WsClient ws(server.ui_port());
    ws.subscribe("tasks", kRun + "/tasks");
    ws.sync();
    constexpr int kTasks = 4;
    for (int i = 0; i < kTasks; ++i)
        ASSERT_EQ(api.post(kRun + "/steps/start/task", "{}").status, 200u);
    const auto task_of = [](const json::object& frame) {
        return frame.at("data").at("task_id").as_int64();
    };
    ws.until([&](const json::object& frame) { return task_of(frame) == kTasks; });
    // Tasks 2 and 4 beat again 50 s later; 1 and 3 stop. At 100 s, past the 60 s threshold
    // for 1 and 3 only.
    server.clock().set_ms(kNowMs + 50'000);
    for (const int task : {2, 4}) {
        ASSERT_EQ(api.post(kRun + "/steps/start/tasks/" + std::to_string(task) + "/heartbeat", "{}")
                      .status,
                  200u);
    }
    server.clock().set_ms(kNowMs + 100'000);
    std::set<std::int64_t> failed;
    const auto count_failed = [&](const std::vector<json::object>& frames) {
        for (const auto& frame : frames) {
            if (frame.at("data").at("status").as_string() == "failed")
                failed.insert(task_of(frame));
        }
    };
    ws.until([&](const json::object& frame) {
        count_failed({frame});
        return failed.size() >= 2;
    });
    // Later passes watch 2 and 4 still, and push nothing for them while they beat.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    count_failed(ws.sync());
    EXPECT_EQ(failed, (std::set<std::int64_t>{1, 3}));
}

// A websocket to a service in another process, which accepts them once its change feed
// listens (before, the upgrade answers 503).
void connect_when_accepting(std::optional<WsClient>& ws, std::uint16_t port) {
    for (int attempt = 0; attempt < 100 && !ws; ++attempt) {
        try {
            ws.emplace(port);
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    ASSERT_TRUE(ws) << "the other process never accepted a websocket";
}

// The service stops at once with one websocket open and one closed by its client: neither
// holds the service until its drain or idle timeout (ten minutes here, where the wait for the
// exit gives up after one).
TEST(RealtimeStop, SigtermWithWebsocketsOpenAndClosedDoesNotWaitForTheDrainTimeout) {
    TempDir dir;
    const auto api_port = free_port();
    const auto ui_port = free_port();
    ServiceProcess service(
        {"serve", "--host", "127.0.0.1", "--port", std::to_string(api_port), "--ui-port",
         std::to_string(ui_port), "--migration-port", std::to_string(free_port()), "--database",
         "sqlite:" + (dir.path() / "stop.db").string(), "--drain-timeout", "600"},
        (dir.path() / "service.log").string(), {"MF_UI_WS_IDLE_TIMEOUT=600"});
    ASSERT_TRUE(service.wait_until_serving(api_port)) << service.log();
    std::optional<WsClient> open;
    std::optional<WsClient> closed;
    connect_when_accepting(open, ui_port);
    connect_when_accepting(closed, ui_port);
    ASSERT_TRUE(open && closed) << service.log();
    for (auto* ws : {&*open, &*closed}) {
        ws->subscribe("runs", "/runs");
        ws->sync();
    }
    closed.reset();
    service.signal(SIGTERM);
    const auto status = service.wait_for_exit(std::chrono::seconds(60));
    ASSERT_TRUE(status) << "still running a minute after SIGTERM\n" << service.log();
    EXPECT_EQ(*status, 0) << service.log();
}

// Another service process on the database at `url`, serving on the given ports, its log in
// `dir`.
ServiceProcess service_on(const std::string& url, std::uint16_t api_port, std::uint16_t ui_port,
                          const TempDir& dir, const std::vector<std::string>& more_arguments = {},
                          std::vector<std::string> environment = {}) {
    std::vector<std::string> arguments{"serve",
                                       "--host",
                                       "127.0.0.1",
                                       "--port",
                                       std::to_string(api_port),
                                       "--ui-port",
                                       std::to_string(ui_port),
                                       "--migration-port",
                                       std::to_string(free_port()),
                                       "--database",
                                       url};
    arguments.insert(arguments.end(), more_arguments.begin(), more_arguments.end());
    return ServiceProcess(std::move(arguments), (dir.path() / "service.log").string(),
                          std::move(environment));
}

TEST(RealtimePostgres, ChangesOfAnotherProcessAndOfPlainSqlShow) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite has one writing process";
    TestServer first(realtime_options());
    TempDir dir;
    const auto api_port = free_port();
    const auto ui_port = free_port();
    auto second = service_on(first.database_url(), api_port, ui_port, dir);
    ASSERT_TRUE(second.wait_until_serving(api_port)) << second.log();
    std::optional<WsClient> ws;
    connect_when_accepting(ws, ui_port);
    ASSERT_TRUE(ws) << second.log();
    ws->subscribe("flows", "/flows?flow_id=ThroughFirst,Direct");
    ws->subscribe("flow", "/flows/ThroughFirst");
    ws->sync();
    HttpClient api = first.client();
    ASSERT_EQ(
        api.post("/flows/ThroughFirst", json::serialize(json::object{{"user_name", "ann"}})).status,
        200u);
    auto through =
        ws->until([](const json::object& frame) { return frame.at("uuid").as_string() == "flow"; });
    ASSERT_EQ(of(through, "flows").size(), 1u) << second.log();
    EXPECT_EQ(of(through, "flows").front().at("type").as_string(), "INSERT");
    EXPECT_EQ(of(through, "flows").front().at("data").at("user_name").as_string(), "ann");
    pg::BlockingConnection sql(first.database_url());
    sql.execute(
        "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) "
        "VALUES ('Direct', 'sql', 1, '[]', '[]')");
    auto direct = ws->until([](const json::object& frame) {
        return frame.at("uuid").as_string() == "flows" &&
               frame.at("data").at("flow_id").as_string() == "Direct";
    });
    EXPECT_EQ(direct.back().at("data").at("user_name").as_string(), "sql");
}

// Whether the count `query` reads reaches `count` within 10 s.
bool count_reaches(pg::BlockingConnection& sql, const std::string& query, std::int64_t count) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (sql.execute(query).int64(0, 0) == count) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// The hub reloads a change on a connection of its own: with the one connection of the one
// server loop held by a request that waits for a lock, a flow written meanwhile still shows.
TEST(RealtimePostgres, AChangeShowsWhileEveryRequestConnectionIsBusy) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite reads need no connection";
    TestServer database(realtime_options());
    TempDir dir;
    const auto api_port = free_port();
    const auto ui_port = free_port();
    auto service = service_on(database.database_url(), api_port, ui_port, dir, {"--threads", "1"},
                              {"MF_METADATA_DB_POOL_MAX=1"});
    ASSERT_TRUE(service.wait_until_serving(api_port)) << service.log();
    std::optional<WsClient> ws;
    connect_when_accepting(ws, ui_port);
    ASSERT_TRUE(ws) << service.log();
    ws->subscribe("flows", "/flows");
    ws->sync();

    // The hub's warm-up reads at startup must not be the ones waiting for the lock.
    pg::BlockingConnection sql(database.database_url());
    EXPECT_TRUE(count_reaches(sql,
                              "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND pid <> pg_backend_pid() AND state = 'active'",
                              0));
    pg::BlockingConnection locker(database.database_url());
    locker.execute("BEGIN");
    locker.execute("LOCK TABLE artifact_v3 IN ACCESS EXCLUSIVE MODE");
    std::atomic<unsigned> blocked_status{0};
    std::thread blocked([&] {
        blocked_status = HttpClient(api_port).get("/flows/Waiting/runs/1/artifacts").status;
    });
    EXPECT_TRUE(count_reaches(sql,
                              "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                              "'Lock' AND query LIKE '%artifact_v3%'",
                              1))
        << "the request never waited for the lock";
    sql.execute(
        "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) "
        "VALUES ('WhileBusy', 'sql', 1, '[]', '[]')");
    auto frames = ws->until([](const json::object& frame) {
        return frame.at("data").at("flow_id").as_string() == "WhileBusy";
    });
    EXPECT_EQ(frames.back().at("type").as_string(), "INSERT") << service.log();
    EXPECT_EQ(blocked_status, 0u) << "the request did not wait for the lock";

    locker.execute("ROLLBACK");
    blocked.join();
    EXPECT_EQ(blocked_status, 200u);
}

// The service publishes its own commits itself and skips their notifications: each row it
// writes is pushed once. A flow written in SQL afterwards marks the end: its notification
// comes after those of the service's writes, so a second push of any would come before it.
TEST_F(Realtime, OnPostgresTheServicesOwnWritesArePushedOnce) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite has no notifications";
    const std::map<std::string, std::string> subscriptions = {
        {"flows", "/flows"},
        {"runs", "/flows/F/runs"},
        {"steps", kRun + "/steps"},
        {"tasks", kRun + "/steps/start/tasks"},
        {"metadata", kTask + "/metadata"},
        {"artifacts", kTask + "/artifacts"},
    };
    WsClient ws(server_.ui_port());
    for (const auto& [uuid, resource] : subscriptions) ws.subscribe(uuid, resource);
    EXPECT_TRUE(ws.sync().empty());
    write_a_run();
    // A write that fails publishes nothing.
    EXPECT_NE(api_.post("/flows/F", json::serialize(json::object{{"user_name", "bob"}})).status,
              200u);
    pg::BlockingConnection sql(server_.database_url());
    sql.execute(
        "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) "
        "VALUES ('Marker', 'sql', 1, '[]', '[]')");
    auto frames = ws.until([](const json::object& frame) {
        return frame.at("uuid").as_string() == "flows" &&
               frame.at("data").at("flow_id").as_string() == "Marker";
    });
    frames.pop_back();
    for (const auto& [uuid, resource] : subscriptions) {
        std::size_t inserts = 0;
        for (const auto& frame : of(frames, uuid)) {
            if (frame.at("type").as_string() == "INSERT") ++inserts;
        }
        EXPECT_EQ(inserts, 1u) << uuid;
    }
    EXPECT_EQ(of(frames, "flows").front().at("data").at("user_name").as_string(), "alice");
}

// With the flows' notify trigger dropped while the service runs, a flow the service writes
// is still pushed: from its commit, not from its notification.
TEST_F(Realtime, OnPostgresTheServicesOwnWritesNeedNoNotification) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite has no notifications";
    WsClient ws(server_.ui_port());
    ws.subscribe("flows", "/flows");
    EXPECT_TRUE(ws.sync().empty());
    pg::BlockingConnection sql(server_.database_url());
    sql.execute("DROP TRIGGER IF EXISTS notify_ui_05092024_flows_v3 ON flows_v3");
    post("/flows/F", json::object{{"user_name", "alice"}});
    auto frames = ws.until([](const json::object& frame) {
        return frame.at("data").at("flow_id").as_string() == "F";
    });
    EXPECT_EQ(frames.back().at("type").as_string(), "INSERT");
}

TEST(RealtimePostgres, ARunsStepsAndTasksWrittenInPlainSqlShow) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL only: SQLite has one writing process";
    TestServer server(realtime_options());
    server.clock().set_ms(kNowMs);
    // As the Python service writes them: rows straight into the tables, the triggers firing.
    pg::BlockingConnection sql(server.database_url());
    sql.execute(
        "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) "
        "VALUES ('F', 'py', 1, '[]', '[]')");
    const auto run = sql.execute(
                            "INSERT INTO runs_v3 (flow_id, user_name, ts_epoch, tags, "
                            "system_tags, last_heartbeat_ts) VALUES ('F', 'py', " +
                            std::to_string(kNowMs) + ", '[]', '[\"user:py\"]', " +
                            std::to_string(kNowMs / 1000) + ") RETURNING run_number")
                         .int64(0, 0);
    const std::string run_path = "/flows/F/runs/" + std::to_string(run);
    WsClient ws(server.ui_port());
    ws.subscribe("tasks", run_path + "/tasks");
    ws.subscribe("steps", run_path + "/steps");
    ws.subscribe("run", run_path);
    ws.sync();
    sql.execute(
        "INSERT INTO steps_v3 (flow_id, run_number, step_name, user_name, ts_epoch, "
        "tags, system_tags) VALUES ('F', " +
        std::to_string(run) + ", 'start', 'py', " + std::to_string(kNowMs) + ", '[]', '[]')");
    const auto task =
        sql.execute(
               "INSERT INTO tasks_v3 (flow_id, run_number, step_name, user_name, "
               "ts_epoch, tags, system_tags, last_heartbeat_ts) VALUES ('F', " +
               std::to_string(run) + ", 'start', 'py', " + std::to_string(kNowMs) +
               ", '[]', '[]', " + std::to_string(kNowMs / 1000) + ") RETURNING task_id")
            .int64(0, 0);
    auto frames = ws.until([](const json::object& frame) {
        return frame.at("uuid").as_string() == "run" && frame.at("type").as_string() == "UPDATE";
    });
    ASSERT_EQ(of(frames, "steps").size(), 1u);
    EXPECT_EQ(of(frames, "steps").front().at("data").at("step_name").as_string(), "start");
    const auto tasks = of(frames, "tasks");
    ASSERT_EQ(tasks.size(), 1u);
    const auto& inserted = tasks.front();
    EXPECT_EQ(inserted.at("type").as_string(), "INSERT");
    EXPECT_EQ(inserted.at("data").at("task_id"), json::value(task));
    HttpClient ui = server.ui_client();
    auto listed = ui.get(run_path + "/tasks").json().as_object().at("data").as_array();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(inserted.at("data"), listed.front());
    EXPECT_EQ(of(frames, "run").back().at("data").at("status").as_string(), "running");
}

}  // namespace
}  // namespace mf::testing
