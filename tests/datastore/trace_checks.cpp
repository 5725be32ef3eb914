#include "datastore/trace_checks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "datastore/trace_support.hpp"

namespace mf::datastore::testing {
namespace {

constexpr std::size_t max_processable_bytes = 4 * 1024;  // the reference's default, 4 KB

std::string label_of(const boost::json::object& exchange) {
    return std::string(exchange.at("label").as_string());
}
std::string target_of(const boost::json::object& exchange) {
    return std::string(exchange.at("target").as_string());
}
bool family(const boost::json::object& exchange, std::string_view prefix) {
    return label_of(exchange).rfind(prefix, 0) == 0;
}
std::int64_t status_of(const boost::json::object& exchange) {
    return exchange.at("status").as_int64();
}

// The reference's Metaflow client poisons its own cache when a task's log is read before its
// artifacts; those rows show that bug, not the datastore.
bool poisoned(const boost::json::object& row) {
    const auto* error = row.if_contains("postprocess_error");
    return error &&
           error->as_object().at("detail").as_string() == "'NoneType' object is not subscriptable";
}

std::vector<boost::json::object> rows_of(const boost::json::object& exchange) {
    std::vector<boost::json::object> rows;
    const auto& data = exchange.at("response_json").as_object().at("data");
    if (data.is_array()) {
        for (const auto& row : data.as_array()) rows.push_back(row.as_object());
    } else if (data.is_object() && !data.as_object().empty()) {
        rows.push_back(data.as_object());
    }
    return rows;
}

TaskPath task_of_target(const std::vector<std::string>& segments) {
    // flows/<flow>/runs/<run>/steps/<step>/tasks/<task>/...
    return {segments[1], run_folder(segments[1], segments[3]), segments[5], segments[7]};
}

}  // namespace

int check_artifact_contents(const Datastore& datastore) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        if (!family(exchange, "artifacts-") || status_of(exchange) != 200 ||
            target_of(exchange).find("postprocess=true") == std::string::npos) {
            continue;
        }
        for (const auto& row : rows_of(exchange)) {
            if (poisoned(row)) continue;
            TaskPath task = row_task(row);
            std::string name(row.at("name").as_string());
            auto attempt = static_cast<int>(row.at("attempt_id").as_int64());
            auto content = datastore.artifact_content(task, attempt, name, max_processable_bytes);
            SCOPED_TRACE(label_of(exchange) + " " + task.pathspec() + "/" + name);
            if (const auto* expected = row.if_contains("content")) {
                if (!(content.ok())) {
                    ADD_FAILURE() << "expected content.ok()" << content.error().id << ": "
                                  << content.error().message;
                    continue;
                }
                EXPECT_EQ(*content, expected->as_string().c_str());
            } else {
                const auto& error = row.at("postprocess_error").as_object();
                if (content.ok()) {
                    ADD_FAILURE() << "expected not content.ok()";
                    continue;
                }
                EXPECT_EQ(content.error().id, error.at("id").as_string().c_str());
                EXPECT_EQ(content.error().message, error.at("detail").as_string().c_str());
            }
            ++compared;
        }
    }
    return compared;
}

namespace {

// Replays the exchanges of a run-level read (parameters, DAG) from the run's `_parameters`
// task, comparing with the recorded `data`.
template <class Read>
int check_run_reads(std::string_view prefix, Read read) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        if (!family(exchange, prefix) || status_of(exchange) != 200) continue;
        auto segments = target_segments(target_of(exchange));
        auto task = parameters_task(segments[1], run_folder(segments[1], segments[3]));
        SCOPED_TRACE(label_of(exchange));
        if (!task) {
            ADD_FAILURE() << "no _parameters task";
            continue;
        }
        auto value = read(*task);
        if (!value.ok()) {
            ADD_FAILURE() << value.error().message;
            continue;
        }
        EXPECT_EQ(boost::json::value(*value), exchange.at("response_json").as_object().at("data"));
        ++compared;
    }
    return compared;
}

}  // namespace

int check_parameters(const Datastore& datastore) {
    return check_run_reads("run-parameters",
                           [&](const TaskPath& task) { return datastore.parameters(task); });
}

int check_dags(const Datastore& datastore) {
    return check_run_reads("dag", [&](const TaskPath& task) { return datastore.dag(task); });
}

int check_logs(const Datastore& datastore) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        if (!(family(exchange, "logs-out") || family(exchange, "logs-err")) ||
            status_of(exchange) != 200) {
            continue;
        }
        auto target = target_of(exchange);
        auto segments = target_segments(target);
        auto query = target_query(target);
        auto stream = segments[9] == "out" ? LogStream::out : LogStream::err;
        int attempt = query.count("attempt_id") ? std::stoi(query["attempt_id"]) : 0;
        std::size_t page = query.count("_page") ? std::stoul(query["_page"]) : 1;
        std::size_t limit = query.count("_limit") ? std::stoul(query["_limit"]) : 1000;
        limit = std::min<std::size_t>(limit, 10000);
        bool reverse = query.count("_order") && query["_order"].rfind("-row", 0) == 0;
        SCOPED_TRACE(label_of(exchange) + " " + target);
        auto lines = datastore.log(task_of_target(segments), attempt, stream);
        if (!(lines.ok())) {
            ADD_FAILURE() << "expected lines.ok()" << lines.error().message;
            continue;
        }
        auto result = paginate_log(*lines, page, limit, reverse);
        boost::json::array rows;
        for (const auto& row : result.rows) {
            boost::json::value timestamp = nullptr;
            if (row.line->timestamp_ms) timestamp = *row.line->timestamp_ms;
            rows.push_back({{"row", row.row}, {"timestamp", timestamp}, {"line", row.line->line}});
        }
        const auto& expected = exchange.at("response_json").as_object();
        EXPECT_EQ(boost::json::value(rows), expected.at("data"));
        EXPECT_EQ(static_cast<std::int64_t>(result.pages),
                  expected.at("pages").as_object().at("last").as_int64());
        ++compared;
    }
    return compared;
}

int check_log_downloads(const Datastore& datastore) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        if (!family(exchange, "logs-download") || status_of(exchange) != 200) continue;
        auto target = target_of(exchange);
        auto segments = target_segments(target);
        auto query = target_query(target);
        int attempt = query.count("attempt_id") ? std::stoi(query["attempt_id"]) : 0;
        auto stream = segments[9] == "out" ? LogStream::out : LogStream::err;
        SCOPED_TRACE(label_of(exchange));
        auto lines = datastore.log(task_of_target(segments), attempt, stream);
        if (!(lines.ok())) {
            ADD_FAILURE() << "expected lines.ok()" << lines.error().message;
            continue;
        }
        std::string text;
        for (std::size_t i = 0; i < lines->size(); ++i) {
            if (i) text += "\n";
            text += (*lines)[i].line;
        }
        const auto* body = exchange.if_contains("response_text");
        EXPECT_EQ(text, body && body->is_string() ? body->as_string().c_str() : "");
        ++compared;
    }
    return compared;
}

int check_task_refinement(const Datastore& datastore) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        bool task_family = family(exchange, "tasks-") || family(exchange, "task-attempts") ||
                           family(exchange, "task:");
        if (!task_family || status_of(exchange) != 200 ||
            target_of(exchange).find("postprocess=true") == std::string::npos) {
            continue;
        }
        for (const auto& row : rows_of(exchange)) {
            if (poisoned(row) || !row.contains("task_id")) continue;
            TaskPath task = row_task(row);
            auto attempt = static_cast<int>(row.at("attempt_id").as_int64());
            SCOPED_TRACE(label_of(exchange) + " " + task.pathspec());
            auto refinement = datastore.refine_task(task, attempt, max_processable_bytes);
            if (const auto* label = row.if_contains("foreach_label")) {
                if (!(refinement.ok())) {
                    ADD_FAILURE() << "expected refinement.ok()" << refinement.error().message;
                    continue;
                }
                if (!(refinement->foreach_index.has_value())) {
                    ADD_FAILURE() << "expected refinement->foreach_index.has_value()";
                    continue;
                }
                auto id = row.at("task_id").is_int64()
                              ? std::to_string(row.at("task_id").as_int64())
                              : std::string(row.at("task_id").as_string());
                EXPECT_EQ(id + "[" + std::to_string(*refinement->foreach_index) + "]",
                          label->as_string().c_str());
            } else if (refinement.ok()) {
                EXPECT_FALSE(refinement->foreach_index.has_value());
            }
            if (refinement.ok() && refinement->task_ok &&
                row.at("status").as_string() != "running") {
                EXPECT_EQ(*refinement->task_ok ? "completed" : "failed",
                          row.at("status").as_string());
            }
            ++compared;
        }
    }
    return compared;
}

int check_cards(const Datastore& datastore) {
    int compared = 0;
    for (const auto& exchange : trace_exchanges()) {
        auto target = target_of(exchange);
        auto segments = target_segments(target);
        if (family(exchange, "cards:") && status_of(exchange) == 200 &&
            target.find("_limit") == std::string::npos) {
            auto expected = exchange.at("response_json").as_object().at("data").as_array();
            if (expected.empty()) continue;  // the reference's card process was not ready yet
            SCOPED_TRACE(label_of(exchange));
            auto cards = datastore.cards(task_of_target(segments));
            if (!(cards.ok())) {
                ADD_FAILURE() << "expected cards.ok()" << cards.error().message;
                continue;
            }
            std::set<std::string> ours, theirs;
            for (const auto& card : *cards) {
                ours.insert(card.type + "/" + card.id.value_or("null") + "/" + card.hash);
            }
            for (const auto& card : expected) {
                const auto& fields = card.as_object();
                theirs.insert(std::string(fields.at("type").as_string()) + "/" +
                              (fields.at("id").is_null()
                                   ? "null"
                                   : std::string(fields.at("id").as_string())) +
                              "/" + std::string(fields.at("hash").as_string()));
            }
            EXPECT_EQ(ours, theirs);
            ++compared;
        }
        if (family(exchange, "card-data") && segments[7] == "96") {
            SCOPED_TRACE(label_of(exchange));
            auto data = datastore.card_data(task_of_target(segments), segments[9]);
            if (status_of(exchange) == 200) {
                if (!(data.ok())) {
                    ADD_FAILURE() << "expected data.ok()" << data.error().message;
                    continue;
                }
                EXPECT_EQ(*data, exchange.at("response_json"));
            } else {
                if (data.ok()) {
                    ADD_FAILURE() << "expected not data.ok()";
                    continue;
                }
                EXPECT_EQ(data.error().kind, ErrorKind::not_found);
            }
            ++compared;
        }
        if (label_of(exchange) == "cards:list-no-cards-task") {
            auto cards = datastore.cards(task_of_target(segments));
            if (!(cards.ok())) {
                ADD_FAILURE() << "expected cards.ok()";
                continue;
            }
            EXPECT_TRUE(cards->empty());
            ++compared;
        }
    }
    return compared;
}

}  // namespace mf::datastore::testing
