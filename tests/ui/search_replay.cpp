#include "ui/search_replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "realtime/ws_client.hpp"
#include "ui/ui_test_util.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;
using ui::read_text;

std::vector<std::string> keys_of(const json::object& object) {
    std::vector<std::string> keys;
    for (const auto& member : object) keys.emplace_back(member.key());
    return keys;
}

// One recorded search: its path and query, the frames' events, the close code.
struct Recorded {
    std::string target;
    std::vector<json::object> events;
    std::uint16_t close_code = 0;
};

std::vector<Recorded> recorded_searches() {
    std::map<std::int64_t, Recorded> by_connection;
    std::istringstream lines(read_text(MF_TEST_FIXTURES "/ui-search-frames.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
        const auto entry = json::parse(line).as_object();
        auto& recorded = by_connection[entry.at("conn").as_int64()];
        const auto& event = entry.at("event").as_string();
        if (event == "connect") {
            const std::string url(entry.at("url").as_string());
            recorded.target = url.substr(url.find('/', std::string("ws://").size()));
        } else if (event == "recv") {
            recorded.events.push_back(entry.at("json").at("event").as_object());
        } else if (event == "close") {
            recorded.close_code = static_cast<std::uint16_t>(entry.at("close_code").as_int64());
        }
    }
    std::vector<Recorded> searches;
    for (auto& [connection, recorded] : by_connection) searches.push_back(std::move(recorded));
    return searches;
}

}  // namespace

std::vector<std::string> event_types(const std::vector<json::object>& events) {
    std::vector<std::string> types;
    for (const auto& event : events) types.emplace_back(event.at("type").as_string());
    return types;
}

const json::object& SearchSocket::last_result() const {
    for (auto event = events.rbegin(); event != events.rend(); ++event) {
        if (event->at("type") == "result") return *event;
    }
    static const json::object none{{"matches", json::array()}};
    ADD_FAILURE() << "no result frame";
    return none;
}

// Opens `target` on the UI port and reads every frame until the server closes.
SearchSocket open_search(std::uint16_t port, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers) {
    WsClient client(port, std::move(headers), 0, target);
    SearchSocket result;
    while (auto text = client.next()) {
        auto frame = json::parse(*text).as_object();
        EXPECT_EQ(frame.size(), 1u) << *text;
        result.events.push_back(frame.at("event").as_object());
    }
    EXPECT_EQ(client.last_error(), boost::beast::websocket::error::closed)
        << client.last_error().message();
    result.close_code = client.close_code();
    return result;
}

// A result's matches keyed by "<step>/<task>".
std::map<std::string, json::object> matches_by_task(const json::object& result) {
    std::map<std::string, json::object> matches;
    for (const auto& match : result.at("matches").as_array()) {
        const auto& object = match.as_object();
        matches[std::string(object.at("step_name").as_string()) + "/" +
                std::string(object.at("task_id").as_string())] = object;
    }
    return matches;
}

int replay_recorded_searches(std::uint16_t ui_port) {
    int compared = 0;
    for (const auto& recorded : recorded_searches()) {
        SCOPED_TRACE(recorded.target);
        const auto actual = open_search(ui_port, recorded.target);
        EXPECT_EQ(actual.close_code, recorded.close_code);
        // Results where the reference sent them; progress while artifact values are read
        // (the reference only while it reads values its cache lacks), ending at 1.
        auto expected_types = event_types(recorded.events);
        auto actual_types = event_types(actual.events);
        const bool reads_values = recorded.target.find("value=") != std::string::npos &&
                                  (recorded.target.find("scope=") == std::string::npos ||
                                   recorded.target.find("ARTIFACT") != std::string::npos);
        EXPECT_EQ(std::count(actual_types.begin(), actual_types.end(), "progress") > 0,
                  reads_values);
        for (std::size_t i = 0; i + 1 < actual.events.size(); ++i) {
            if (actual_types[i] == "progress" && actual_types[i + 1] == "result") {
                EXPECT_EQ(actual.events[i].at("fraction").to_number<double>(), 1.0);
            }
        }
        std::erase(actual_types, "progress");
        std::erase(expected_types, "progress");
        EXPECT_EQ(actual_types, expected_types);

        auto expected = matches_by_task(recorded.events.back());
        if (recorded.target.find("argo-uitrace-1") != std::string::npos) {
            auto& start = expected.at("start/t-0a1b");
            start["searchable"] = true;
            start["error"] = nullptr;
        }
        const auto got = matches_by_task(actual.last_result());
        EXPECT_EQ(got.size(), expected.size());
        for (const auto& [task, match] : expected) {
            if (!got.contains(task)) {
                ADD_FAILURE() << "no match for " << task;
                continue;
            }
            EXPECT_EQ(got.at(task), match) << task;
            EXPECT_EQ(keys_of(got.at(task)), keys_of(match)) << task;
        }
        ++compared;
    }
    return compared;
}

}  // namespace mf::testing
