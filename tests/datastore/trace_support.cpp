#include "datastore/trace_support.hpp"

#include <fstream>
#include <stdexcept>

namespace mf::datastore::testing {
namespace {

std::string percent_decode(const std::string& text, bool plus_is_space) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else if (text[i] == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string text_of(const boost::json::value& value) {
    if (value.is_string()) return std::string(value.as_string());
    if (value.is_int64()) return std::to_string(value.as_int64());
    return "";
}

}  // namespace

std::vector<boost::json::object> trace_exchanges() {
    std::ifstream in(std::filesystem::path(MF_TEST_FIXTURES) / "ui-trace-datastore.jsonl");
    if (!in) throw std::runtime_error("the UI trace fixture is missing");
    std::vector<boost::json::object> exchanges;
    std::string line;
    while (std::getline(in, line)) exchanges.push_back(boost::json::parse(line).as_object());
    return exchanges;
}

std::map<std::string, std::string> target_query(const std::string& target) {
    std::map<std::string, std::string> query;
    auto mark = target.find('?');
    if (mark == std::string::npos) return query;
    std::string rest = target.substr(mark + 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
        auto end = rest.find('&', start);
        if (end == std::string::npos) end = rest.size();
        auto pair = rest.substr(start, end - start);
        auto equals = pair.find('=');
        auto key = percent_decode(pair.substr(0, equals), true);
        if (!key.empty() && !query.count(key)) {
            query[key] =
                equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1), true);
        }
        start = end + 1;
    }
    return query;
}

std::vector<std::string> target_segments(const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        segments.push_back(percent_decode(path.substr(start, end - start), false));
        start = end + 1;
    }
    return segments;
}

TaskPath row_task(const boost::json::object& row) {
    auto run =
        row.at("run_id").is_null() ? text_of(row.at("run_number")) : text_of(row.at("run_id"));
    auto task =
        row.at("task_name").is_null() ? text_of(row.at("task_id")) : text_of(row.at("task_name"));
    return {text_of(row.at("flow_id")), run, text_of(row.at("step_name")), task};
}

std::string run_folder(const std::string& flow, const std::string& run_segment) {
    // Run 16 has a run_id, which names its folder; the trace asks for it by number too.
    if (flow == "AccLinear_ui" && run_segment == "16") return "argo-uitrace-1";
    return run_segment;
}

std::optional<TaskPath> parameters_task(const std::string& flow, const std::string& run) {
    auto folder = fixture_root() / flow / run / "_parameters";
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
        return TaskPath{flow, run, "_parameters", entry.path().filename().string()};
    }
    return std::nullopt;
}

}  // namespace mf::datastore::testing
