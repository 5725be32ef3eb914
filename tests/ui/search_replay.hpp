#pragma once

// The search websocket from a test: open a search and read it to its close, and the
// reference's recorded searches (tests/fixtures/ui-search-frames.jsonl) opened again and
// compared: the frames' kinds (progress while artifact values are read, ending at 1), the
// last result's matches as a set with their keys in order (the reference lists them in the
// database's heap order), and the close code. Where we differ on purpose: the recording's
// start task of run argo-uitrace-1 failed with a TypeError that the Metaflow client's cache
// caused (a log read before the value); here its value is read and matches.

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mf::testing {

// What a search socket sent: its frames' events, then how it closed.
struct SearchSocket {
    std::vector<boost::json::object> events;
    std::uint16_t close_code = 0;

    const boost::json::object& last_result() const;
};

// Opens `target` on the UI port and reads every frame until the server closes.
SearchSocket open_search(std::uint16_t port, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers = {});

std::vector<std::string> event_types(const std::vector<boost::json::object>& events);
// A result's matches keyed by "<step>/<task>".
std::map<std::string, boost::json::object> matches_by_task(const boost::json::object& result);

// The recorded searches against a UI listener over the rows of the UI trace and its
// datastore, compared; returns how many.
int replay_recorded_searches(std::uint16_t ui_port);
inline constexpr int kRecordedSearches = 6;

}  // namespace mf::testing
