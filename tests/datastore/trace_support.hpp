#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "datastore/datastore.hpp"

namespace mf::datastore::testing {

// The local datastore real flows wrote for the recorded UI trace (tests/fixtures/README.md).
inline std::filesystem::path fixture_root() {
    return std::filesystem::path(MF_TEST_FIXTURES) / "ui-datastore" / ".metaflow";
}

// The reference UI backend's exchanges over that datastore, one JSON object each.
std::vector<boost::json::object> trace_exchanges();

// The query of a recorded target, decoded ("%2B" and "+" as the reference's aiohttp read them).
std::map<std::string, std::string> target_query(const std::string& target);
// The path segments of a recorded target, percent-decoded.
std::vector<std::string> target_segments(const std::string& target);

// The task a recorded row names, as its datastore folder does.
TaskPath row_task(const boost::json::object& row);

// The `_parameters` task of a run, found in the fixture folder.
std::optional<TaskPath> parameters_task(const std::string& flow, const std::string& run);

// What the reference's run-number or run-id path segment names: the folder of the run.
std::string run_folder(const std::string& flow, const std::string& run_segment);

}  // namespace mf::datastore::testing
