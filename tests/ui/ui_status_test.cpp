// The derived run and task statuses, finished_at and duration on each store, with the clock
// frozen: every rule of the reference, one row each.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <tuple>

#include "ui/ui_test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNowMs = 1'800'000'000'000;
constexpr std::int64_t kNowS = kNowMs / 1000;
constexpr std::int64_t kDayMs = 86'400'000;

std::string n(std::int64_t value) {
    return std::to_string(value);
}

class UiStatus : public ::testing::Test {
protected:
    void SetUp() override {
        server_.clock().set_ms(kNowMs);
        server_.execute("INSERT INTO flows_v3 (flow_id, ts_epoch) VALUES ('F', 1)");
    }

    void run(std::int64_t number, std::int64_t ts_epoch, std::optional<std::int64_t> heartbeat) {
        server_.execute(
            "INSERT INTO runs_v3 (flow_id, run_number, user_name, ts_epoch, tags, system_tags, "
            "last_heartbeat_ts) VALUES ('F', " +
            n(number) + ", 'u', " + n(ts_epoch) + ", '[]', '[\"user:u\"]', " +
            (heartbeat ? n(*heartbeat) : "NULL") + ")");
        server_.execute(
            "INSERT INTO steps_v3 (flow_id, run_number, step_name, ts_epoch) VALUES ('F', " +
            n(number) + ", 'end', " + n(ts_epoch) + ")");
    }

    void task(std::int64_t run_number, std::int64_t task_id, std::int64_t ts_epoch,
              std::optional<std::int64_t> heartbeat, const std::string& step = "end") {
        server_.execute(
            "INSERT INTO tasks_v3 (flow_id, run_number, step_name, task_id, ts_epoch, "
            "last_heartbeat_ts) VALUES ('F', " +
            n(run_number) + ", '" + step + "', " + n(task_id) + ", " + n(ts_epoch) + ", " +
            (heartbeat ? n(*heartbeat) : "NULL") + ")");
    }

    // A metadata record of the task, tagged with its attempt.
    void record(std::int64_t run_number, std::int64_t task_id, const std::string& field,
                const std::string& value, std::int64_t attempt, std::int64_t ts_epoch,
                const std::string& step = "end") {
        server_.execute(
            "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, "
            "value, type, ts_epoch, tags, system_tags) VALUES ('F', " +
            n(run_number) + ", '" + step + "', " + n(task_id) + ", '" + field + "', '" + value +
            "', '" + field + "', " + n(ts_epoch) + ", '[\"attempt_id:" + n(attempt) +
            "\"]', 'null')");
    }

    // The task's _task_ok artifact of an attempt.
    void task_ok(std::int64_t run_number, std::int64_t task_id, std::int64_t attempt,
                 std::int64_t ts_epoch, const std::string& step = "end") {
        server_.execute(
            "INSERT INTO artifact_v3 (flow_id, run_number, step_name, task_id, name, location, "
            "ds_type, attempt_id, ts_epoch, tags, system_tags) VALUES ('F', " +
            n(run_number) + ", '" + step + "', " + n(task_id) + ", '_task_ok', 'ok/" + n(attempt) +
            "', 'local', " + n(attempt) + ", " + n(ts_epoch) + ", '[]', '[]')");
    }

    json::array get_rows(const std::string& path) {
        auto response = server_.client().get(path);
        EXPECT_EQ(response.status, 200u) << response.body;
        return response.json().as_object().at("data").as_array();
    }

    // Every page of run 1's timeline in `order`, `limit` rows a page, one after another.
    json::array timeline_in_pages(const std::string& order, std::size_t limit, std::size_t rows) {
        json::array pages;
        for (std::size_t page = 1; page <= rows / limit + 1; ++page) {
            const auto found = get_rows("/flows/F/runs/1/tasks?_order=" + order +
                                        "&_limit=" + n(static_cast<std::int64_t>(limit)) +
                                        "&_page=" + n(static_cast<std::int64_t>(page)));
            EXPECT_LE(found.size(), limit);
            for (const auto& row : found) pages.push_back(row);
        }
        return pages;
    }

    json::object get_run(std::int64_t number) {
        auto response = server_.client().get("/flows/F/runs/" + n(number));
        EXPECT_EQ(response.status, 200u) << response.body;
        return response.json().as_object().at("data").as_object();
    }

    json::array tasks(std::int64_t run_number) {
        auto response =
            server_.client().get("/flows/F/runs/" + n(run_number) + "/tasks?_order=%2Battempt_id");
        EXPECT_EQ(response.status, 200u) << response.body;
        return response.json().as_object().at("data").as_array();
    }

    UiTestServer server_;
};

json::value num(std::int64_t value) {
    return json::value(value);
}

TEST_F(UiStatus, RunCompletedByTheEndStepsAttemptOk) {
    run(1, kNowMs - 60'000, kNowS - 30);
    task(1, 1, kNowMs - 50'000, kNowS - 30);
    record(1, 1, "attempt_ok", "True", 0, kNowMs - 40'000);
    auto r = get_run(1);
    EXPECT_EQ(r.at("status"), "completed");
    EXPECT_EQ(r.at("finished_at"), num(kNowMs - 40'000));
    EXPECT_EQ(r.at("duration"), num(20'000));
    EXPECT_EQ(r.at("user"), "u");
    EXPECT_EQ(r.at("run"), "1");
}

TEST_F(UiStatus, RunFailedByAFalseAttemptOk) {
    run(2, kNowMs - 60'000, kNowS - 1);
    task(2, 2, kNowMs - 50'000, kNowS - 1);
    record(2, 2, "attempt_ok", "False", 0, kNowMs - 40'000);
    auto r = get_run(2);
    EXPECT_EQ(r.at("status"), "failed");
    EXPECT_EQ(r.at("finished_at"), num(kNowMs - 40'000));
}

TEST_F(UiStatus, RunRetryingItsEndStepIsRunning) {
    run(3, kNowMs - 60'000, kNowS - 5);
    task(3, 3, kNowMs - 50'000, kNowS - 5);
    record(3, 3, "attempt_ok", "False", 0, kNowMs - 40'000);
    record(3, 3, "attempt", "1", 1, kNowMs - 30'000);
    auto r = get_run(3);
    EXPECT_EQ(r.at("status"), "running");
    EXPECT_TRUE(r.at("finished_at").is_null());
    EXPECT_EQ(r.at("duration"), num((kNowS - 5) * 1000 - (kNowMs - 60'000)));
}

TEST_F(UiStatus, RunWithAFreshHeartbeatIsRunning) {
    run(4, kNowMs - 60'000, kNowS - 300);
    auto r = get_run(4);
    EXPECT_EQ(r.at("status"), "running");
    EXPECT_TRUE(r.at("finished_at").is_null());
    EXPECT_EQ(r.at("duration"), num((kNowS - 300) * 1000 - (kNowMs - 60'000)));
}

TEST_F(UiStatus, RunWithAStaleHeartbeatFailed) {
    run(5, kNowMs - 600'000, kNowS - 361);
    auto r = get_run(5);
    EXPECT_EQ(r.at("status"), "failed");
    EXPECT_EQ(r.at("finished_at"), num((kNowS - 361) * 1000));
}

TEST_F(UiStatus, RunWithoutHeartbeatsFailedAndOldOnesHaveNoDuration) {
    run(6, kNowMs - 2 * kDayMs, std::nullopt);
    run(7, kNowMs - 1000, std::nullopt);
    auto old_run = get_run(6);
    EXPECT_EQ(old_run.at("status"), "failed");
    EXPECT_TRUE(old_run.at("duration").is_null());
    auto young_run = get_run(7);
    EXPECT_EQ(young_run.at("status"), "failed");
    EXPECT_EQ(young_run.at("duration"), num(1000));
}

TEST_F(UiStatus, RunStatusFiltersAndOrders) {
    run(1, kNowMs - 60'000, kNowS - 30);
    task(1, 1, kNowMs - 50'000, kNowS - 30);
    record(1, 1, "attempt_ok", "True", 0, kNowMs - 40'000);
    run(4, kNowMs - 50'000, kNowS - 10);
    run(5, kNowMs - 600'000, kNowS - 361);
    auto running = server_.client().get("/runs?status=running").json().as_object();
    ASSERT_EQ(running.at("data").as_array().size(), 1u);
    EXPECT_EQ(running.at("data").as_array()[0].at("run_number"), num(4));
    auto two = server_.client().get("/runs?status=completed,failed&_order=%2Bstatus").json();
    const auto& rows = two.as_object().at("data").as_array();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].at("status"), "completed");
    EXPECT_EQ(rows[1].at("status"), "failed");
    auto by_duration = server_.client().get("/runs?_order=duration").json();
    EXPECT_EQ(by_duration.as_object().at("data").as_array()[0].at("run_number"), num(5));
}

TEST_F(UiStatus, TaskCompletedAndFailedByAttemptOk) {
    run(1, kNowMs - 60'000, kNowS - 1);
    task(1, 10, kNowMs - 50'000, kNowS - 1);
    record(1, 10, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 10, "attempt_ok", "True", 0, kNowMs - 40'000);
    task(1, 11, kNowMs - 50'000, kNowS - 1);
    record(1, 11, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 11, "attempt_ok", "False", 0, kNowMs - 44'000);
    auto rows = tasks(1);
    ASSERT_EQ(rows.size(), 2u);
    const auto& ok = rows[0].at("task_id") == num(10) ? rows[0] : rows[1];
    const auto& bad = rows[0].at("task_id") == num(10) ? rows[1] : rows[0];
    EXPECT_EQ(ok.at("status"), "completed");
    EXPECT_EQ(ok.at("started_at"), num(kNowMs - 45'000));
    EXPECT_EQ(ok.at("finished_at"), num(kNowMs - 40'000));
    EXPECT_EQ(ok.at("duration"), num(5'000));
    EXPECT_EQ(bad.at("status"), "failed");
}

// Attempt records with long tags (the client's own and a user's) count as any others, on the
// timeline's pages and in other orders.
TEST_F(UiStatus, TaskAttemptsFromRecordsWithLongTags) {
    run(1, kNowMs - 60'000, kNowS - 1);
    task(1, 10, kNowMs - 50'000, kNowS - 1);
    const std::string tags = "'[\"attempt_id:1\", \"" + std::string(300, 'x') + "\"]'";
    for (const auto& [field, value, ts] :
         {std::tuple{"attempt", "1", kNowMs - 45'000}, {"attempt_ok", "True", kNowMs - 40'000}}) {
        server_.execute(
            "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, "
            "value, type, ts_epoch, tags, system_tags) VALUES ('F', 1, 'end', 10, '" +
            std::string(field) + "', '" + value + "', 'attempt', " + n(ts) + ", " + tags +
            ", 'null')");
    }
    task(1, 11, kNowMs - 49'000, kNowS - 1);
    record(1, 11, "attempt", "0", 0, kNowMs - 45'000);
    for (const auto& path : {std::string("/flows/F/runs/1/tasks?_order=%2Bts_epoch&_limit=10"),
                             std::string("/flows/F/runs/1/tasks?_order=%2Battempt_id")}) {
        SCOPED_TRACE(path);
        auto rows = get_rows(path);
        ASSERT_EQ(rows.size(), 2u);
        const auto& long_tagged = rows[0].at("task_id") == num(10) ? rows[0] : rows[1];
        EXPECT_EQ(long_tagged.at("attempt_id"), num(1));
        EXPECT_EQ(long_tagged.at("status"), "completed");
        EXPECT_EQ(long_tagged.at("started_at"), num(kNowMs - 45'000));
        EXPECT_EQ(long_tagged.at("finished_at"), num(kNowMs - 40'000));
    }
}

TEST_F(UiStatus, TaskRetryingHasAFailedAndARunningAttempt) {
    run(1, kNowMs - 60'000, kNowS - 1);
    task(1, 10, kNowMs - 50'000, kNowS - 1);
    record(1, 10, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 10, "attempt", "1", 1, kNowMs - 30'000);
    auto rows = tasks(1);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].at("attempt_id"), num(0));
    EXPECT_EQ(rows[0].at("status"), "failed");  // the next attempt started
    EXPECT_EQ(rows[0].at("finished_at"), num(kNowMs - 30'000));
    EXPECT_EQ(rows[1].at("attempt_id"), num(1));
    EXPECT_EQ(rows[1].at("status"), "running");
    EXPECT_TRUE(rows[1].at("finished_at").is_null());
    EXPECT_EQ(rows[1].at("duration"), num((kNowS - 1) * 1000 - (kNowMs - 30'000)));
}

TEST_F(UiStatus, TaskPendingRunningStaleAndUnknown) {
    run(1, kNowMs - 600'000, kNowS - 1);
    task(1, 20, kNowMs - 1000, std::nullopt);  // pending
    task(1, 21, kNowMs - 50'000, kNowS - 5);   // running
    record(1, 21, "attempt", "0", 0, kNowMs - 45'000);
    task(1, 22, kNowMs - 500'000, kNowS - 61);  // heartbeat stale
    record(1, 22, "attempt", "0", 0, kNowMs - 450'000);
    task(1, 23, kNowMs - 50'000, kNowS - 40);  // ended without attempt_ok: unknown
    record(1, 23, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 23, "attempt-done", "0", 0, kNowMs - 41'000);
    task(1, 24, kNowMs - 2 * kDayMs, std::nullopt);  // old, never heard of: failed
    record(1, 24, "attempt", "0", 0, kNowMs - 2 * kDayMs);
    auto rows = tasks(1);
    std::map<std::int64_t, json::object> by_id;
    for (const auto& row : rows) by_id[row.at("task_id").as_int64()] = row.as_object();
    ASSERT_EQ(by_id.size(), 5u);
    EXPECT_EQ(by_id[20].at("status"), "pending");
    EXPECT_TRUE(by_id[20].at("duration").is_null());
    EXPECT_EQ(by_id[21].at("status"), "running");
    EXPECT_EQ(by_id[21].at("duration"), num((kNowS - 5) * 1000 - (kNowMs - 45'000)));
    EXPECT_EQ(by_id[22].at("status"), "failed");
    EXPECT_EQ(by_id[22].at("finished_at"), num((kNowS - 61) * 1000));
    EXPECT_EQ(by_id[23].at("status"), "unknown");
    EXPECT_EQ(by_id[23].at("finished_at"), num(kNowMs - 41'000));
    EXPECT_EQ(by_id[24].at("status"), "failed");
    EXPECT_TRUE(by_id[24].at("duration").is_null());
}

TEST_F(UiStatus, StepDurationRunsToItsLastTaskSign) {
    run(1, kNowMs - 60'000, kNowS - 1);
    task(1, 10, kNowMs - 50'000, kNowS - 20);
    record(1, 10, "attempt_ok", "True", 0, kNowMs - 10'000);
    auto step = server_.client().get("/flows/F/runs/1/steps/end").json().as_object();
    // The step started with its run (its ts_epoch); the attempt_ok record is the last sign.
    EXPECT_EQ(step.at("data").at("duration"), num(50'000));
}

// A timeline page ordered on the tasks' own columns is cut before attempts are derived; a
// retried task keeps a row per attempt, whatever page boundary falls between them, exactly as
// in the list ordered on a derived column (which derives every attempt first).
TEST_F(UiStatus, TimelinePagesKeepEveryAttemptAcrossPageBoundaries) {
    run(1, kNowMs - 60'000, kNowS - 1);
    for (std::int64_t i = 0; i < 10; ++i) task(1, 10 + i, kNowMs - 50'000 + i * 10, kNowS - 1);
    record(1, 10, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 10, "attempt_ok", "True", 0, kNowMs - 44'000);
    for (std::int64_t attempt = 0; attempt < 3; ++attempt)  // three attempts
        record(1, 11, "attempt", n(attempt), attempt, kNowMs - 45'000 + attempt * 1000);
    record(1, 11, "attempt_ok", "True", 2, kNowMs - 40'000);
    // Task 12 has no record: pending.
    record(1, 13, "attempt", "0", 0, kNowMs - 45'000);  // a later attempt known by attempt_ok
    record(1, 13, "attempt_ok", "False", 1, kNowMs - 40'000);
    record(1, 14, "attempt", "0", 0, kNowMs - 45'000);  // ... by its _task_ok artifact
    task_ok(1, 14, 1, kNowMs - 40'000);
    record(1, 15, "attempt", "0", 0, kNowMs - 45'000);  // ... by attempt-done
    record(1, 15, "attempt-done", "1", 1, kNowMs - 40'000);
    record(1, 16, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 16, "attempt-done", "0", 0, kNowMs - 44'000);
    record(1, 17, "attempt", "0", 0, kNowMs - 45'000);  // an attempt_ok naming no attempt
    server_.execute(
        "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, value, "
        "type, ts_epoch, tags, system_tags) VALUES ('F', 1, 'end', 17, 'attempt_ok', 'True', "
        "'attempt_ok', " +
        n(kNowMs - 44'000) + ", NULL, NULL)");
    task_ok(1, 18, 0, kNowMs - 44'000);                 // a _task_ok artifact and no record
    record(1, 19, "attempt", "0", 0, kNowMs - 45'000);  // records twice
    record(1, 19, "attempt", "0", 0, kNowMs - 45'500);
    record(1, 19, "attempt_ok", "False", 0, kNowMs - 44'000);
    record(1, 19, "attempt_ok", "True", 0, kNowMs - 43'000);

    for (const std::string order : {"%2Bts_epoch", "-ts_epoch"}) {
        // The tasks' ts_epoch differ, so that this order lists the rows alike.
        const auto whole =
            get_rows("/flows/F/runs/1/tasks?_limit=1000&_order=" + order + ",%2Battempt_id");
        ASSERT_EQ(whole.size(), 15u) << order;
        for (std::size_t limit = 1; limit <= 16; ++limit) {
            EXPECT_EQ(timeline_in_pages(order, limit, whole.size()), whole)
                << order << ", " << limit << " a page";
        }
    }
    // A stored filter still cuts first; a derived one does not, and both agree.
    EXPECT_EQ(get_rows("/flows/F/runs/1/tasks?_order=%2Bts_epoch&_limit=2&task_id=11"),
              get_rows("/flows/F/runs/1/tasks?_order=%2Battempt_id&_limit=2&task_id=11"));
}

// A page's attempts are read by ranges of task ids per step, which hold the tasks of other
// pages when a step's ids do not follow its tasks' times: those are left out, and every page
// is still right. Two steps' tasks interleave on each page, with retried tasks far apart.
TEST_F(UiStatus, TimelinePagesAreRightWhenTaskIdsDoNotFollowTheirTimes) {
    run(1, kNowMs - 60'000, kNowS - 1);
    server_.execute(
        "INSERT INTO steps_v3 (flow_id, run_number, step_name, ts_epoch) VALUES ('F', 1, "
        "'start', " +
        n(kNowMs - 60'000) + ")");
    const std::int64_t ids_in_time_order[] = {17, 11, 19, 10, 15, 13, 18, 12, 16, 14,
                                              27, 21, 29, 20, 25, 23, 28, 22, 26, 24};
    std::int64_t offset = 0;
    for (std::int64_t id : ids_in_time_order) {
        const std::string step = offset % 2 == 0 ? "start" : "end";
        task(1, id, kNowMs - 50'000 + offset * 10, kNowS - 1, step);
        record(1, id, "attempt", "0", 0, kNowMs - 45'000 + offset, step);
        if (id % 3 == 0) {
            record(1, id, "attempt_ok", id % 2 == 0 ? "True" : "False", 0, kNowMs - 44'000 + offset,
                   step);
        }
        if (id == 13 || id == 24) {  // retried: two rows each
            record(1, id, "attempt", "1", 1, kNowMs - 30'000 + offset, step);
        }
        if (id == 16) task_ok(1, id, 0, kNowMs - 43'000, step);
        ++offset;
    }
    const auto whole =
        get_rows("/flows/F/runs/1/tasks?_limit=1000&_order=%2Bts_epoch,%2Battempt_id");
    ASSERT_EQ(whole.size(), 22u);
    for (std::size_t limit = 1; limit <= 22; ++limit) {
        EXPECT_EQ(timeline_in_pages("%2Bts_epoch", limit, whole.size()), whole)
            << limit << " a page";
    }
}

// A page counts the extra rows of the retried tasks before it from their records of attempts
// other than 0 and a probe for attempt 0, without deriving their attempts: every form of record
// gives the rows that deriving them does, whichever page boundary falls where.
TEST_F(UiStatus, TimelinePagesCountEveryFormOfAttemptRecord) {
    run(1, kNowMs - 60'000, kNowS - 1);
    auto tagged = [&](std::int64_t task_id, const std::string& field, const std::string& value,
                      const std::string& tags) {
        server_.execute(
            "INSERT INTO metadata_v3 (flow_id, run_number, step_name, task_id, field_name, "
            "value, type, ts_epoch, tags, system_tags) VALUES ('F', 1, 'end', " +
            n(task_id) + ", '" + field + "', '" + value + "', '" + field + "', " +
            n(kNowMs - 40'000 + task_id) + ", " + tags + ", NULL)");
    };
    for (std::int64_t i = 0; i < 16; ++i) task(1, 10 + i, kNowMs - 50'000 + i * 10, kNowS - 1);
    record(1, 10, "attempt", "0", 0, kNowMs - 45'000);
    record(1, 11, "attempt", "1", 1, kNowMs - 45'000);    // a later attempt and no attempt 0
    tagged(12, "attempt", "00", "'[\"attempt_id:0\"]'");  // attempt 0, not in its usual form
    record(1, 12, "attempt", "1", 1, kNowMs - 44'000);
    record(1, 13, "attempt", "0", 0, kNowMs - 45'000);  // attempt 2 named by a second tag
    tagged(13, "attempt_ok", "True", "'[\"retry\", \"attempt_id:2\"]'");
    tagged(14, "attempt", "abc", "NULL");               // no attempt number at all
    record(1, 15, "attempt", "0", 0, kNowMs - 45'000);  // attempts 0 and 2, none between
    record(1, 15, "attempt", "2", 2, kNowMs - 44'000);
    record(1, 15, "attempt-done", "2", 2, kNowMs - 43'000);
    task_ok(1, 16, 0, kNowMs - 45'000);  // attempt 0 and 3 known by their artifacts alone
    task_ok(1, 16, 3, kNowMs - 44'000);
    tagged(17, "attempt_ok", "False", "'[\"attempt_id:0\", \"attempt_id:1\"]'");
    record(1, 17, "attempt", "1", 1, kNowMs - 44'000);
    tagged(18, "attempt", "1234567890", "NULL");        // ten digits: none on PostgreSQL
    record(1, 19, "attempt", "2", 2, kNowMs - 45'000);  // two later attempts, no attempt 0
    record(1, 19, "attempt_ok", "True", 3, kNowMs - 44'000);
    // Attempt 0 known by a record too large for an index entry, in its tags or its value.
    const std::string large(300, 'x');
    tagged(20, "attempt", "0", "'[\"attempt_id:0\", \"" + large + "\"]'");
    record(1, 20, "attempt", "1", 1, kNowMs - 44'000);
    tagged(21, "attempt_ok", "False " + large, "'[\"attempt_id:0\"]'");
    record(1, 21, "attempt", "1", 1, kNowMs - 44'000);
    for (std::int64_t id = 22; id < 26; ++id) record(1, id, "attempt", "0", 0, kNowMs - 45'000);

    const auto whole =
        get_rows("/flows/F/runs/1/tasks?_limit=1000&_order=%2Bts_epoch,%2Battempt_id");
    ASSERT_EQ(whole.size(), 24u);
    for (std::size_t limit = 1; limit <= 25; ++limit) {
        EXPECT_EQ(timeline_in_pages("%2Bts_epoch", limit, whole.size()), whole)
            << limit << " a page";
    }
}

}  // namespace
}  // namespace mf::testing
