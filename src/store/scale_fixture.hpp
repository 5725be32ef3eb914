#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mf {

// A flow shaped like the Metaflow client's, large enough to show how reads grow with the
// tables: `runs` runs, each with a "start" and an "end" step of one task, and the
// newest run also with a foreach step "body" of `big_step_tasks` tasks. Every task has
// kFixtureMetadataPerTask metadata rows and kFixtureArtifactsPerTask artifacts of attempt 0,
// as a finished attempt leaves them (a retried task has them again for attempt 1).
struct ScaleFixture {
    std::string flow_id = "ScaleFlow";
    std::int64_t runs = 2'000;
    std::int64_t big_step_tasks = 50'000;
    std::int64_t first_ts_epoch = 1'700'000'000'000;  // the oldest run's, in ms
    // PostgreSQL: VACUUM ANALYZE after the load, as autovacuum leaves the tables some time after
    // it; without, the tables are as written, before any statistics or visibility map.
    bool vacuum_analyze = true;
    // Every retry_every-th task of the foreach step (foreach index 0, then every so many) was
    // retried once: its attempt 0 failed, and its attempt 1 wrote its rows again. 0: none.
    std::int64_t retry_every = 0;

    // Scale 1 is the benchmarks' size; 10 is ten times the runs and the big step, for manual runs.
    static ScaleFixture at_scale(int scale);
};

inline constexpr int kFixtureMetadataPerTask = 10;
inline constexpr int kFixtureArtifactsPerTask = 10;
inline constexpr const char* kFixtureForeachStep = "body";
inline constexpr const char* kFixtureUser = "scale";

struct LoadedFixture {
    std::int64_t big_run_number = 0;
    std::int64_t first_body_task_id = 0;  // the task of foreach index 0; indexes follow in order
    std::map<std::string, std::int64_t> rows;  // rows of the flow in each table
};

// The artifact sha the fixture gives artifact number `index` (0-based, in the order of
// kFixtureArtifactNames) of task `task_id`: 40 hex digits of task_id * 16 + index.
std::string fixture_artifact_sha(std::int64_t task_id, int index);
extern const char* const kFixtureArtifactNames[kFixtureArtifactsPerTask];

// Loads the fixture into the database `url` names (sqlite:PATH or postgresql://...), in one
// transaction, with set-based INSERT ... SELECT statements that generate the rows inside
// the database. The schema is migrated first if the database is empty. Throws
// std::runtime_error, also when the flow exists already.
LoadedFixture load_scale_fixture(const std::string& url, const ScaleFixture& fixture);

}  // namespace mf
