#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "datastore/cached_reader.hpp"
#include "http/router.hpp"
#include "model/clock.hpp"
#include "store/ui_reader.hpp"

namespace mf::ui {

// When the derived statuses call a heartbeat stale (HEARTBEAT_THRESHOLD,
// RUN_INACTIVE_CUTOFF_TIME, OLD_RUN_FAILURE_CUTOFF_TIME).
struct StatusThresholds {
    std::int64_t heartbeat_threshold_s = 60;
    std::int64_t run_inactive_cutoff_s = 360;
    std::int64_t old_run_failure_cutoff_ms = 86'400'000;
};

// The environment variable `name` as a number, or `fallback` when it is unset, negative or
// not a number.
std::int64_t number_from_environment(const char* name, std::int64_t fallback);

// HEARTBEAT_THRESHOLD (s), RUN_INACTIVE_CUTOFF_TIME (s) and OLD_RUN_FAILURE_CUTOFF_TIME (ms)
// from the environment; a variable that is unset or not a number keeps its default.
StatusThresholds status_thresholds_from_environment();
// MF_BASEURL, when set: the start of every link the lists write.
std::optional<std::string> base_url_from_environment();

// What the UI API routes need; owned by the service and outliving the router.
struct DatabaseContext {
    UiReader& reader;
    const Clock& clock;
    StatusThresholds thresholds;
    std::optional<std::string> base_url;  // MF_BASEURL: links start with it
    // The flows' datastore (logs, DAG, parameters, values, cards); null when none is
    // configured, and `storage_missing` then says why.
    datastore::CachedReader* storage = nullptr;
    std::string storage_missing;
};

// The UI API routes: from the database, flows, runs, steps, tasks and their attempts,
// metadata, artifact listings, /tags and the five autocomplete routes; from the datastore,
// a run's DAG and parameters, task logs and cards, and the values and refinements of
// `postprocess=true` (GET only). The autocomplete routes come first, as in the reference, so
// that they win over a flow or run of that name.
void add_database_routes(http::Router& router, const DatabaseContext& context);

}  // namespace mf::ui
