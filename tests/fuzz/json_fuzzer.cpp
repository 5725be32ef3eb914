// libFuzzer target: JSON request bodies. The input is a body; its first byte picks one of
// the routes that read a body, which then gets the rest through the pipeline (the item
// readers of src/api), and the same body goes straight to the readers of src/api/body.hpp
// and the domain rules of src/model that take client JSON: metadata_value_text,
// mutate_tags, sends_heartbeats.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "api/body.hpp"
#include "harness.hpp"
#include "model/heartbeat.hpp"
#include "model/metadata_value.hpp"
#include "model/tags.hpp"

namespace {

namespace json = boost::json;

// Objects the conformance trace creates (run 1 of AccLinear_ref has step start, task 1).
struct Target {
    const char* method;
    const char* path;
};
constexpr Target kTargets[] = {
    {"POST", "/flows/FuzzFlow"},
    {"POST", "/flows/AccLinear_ref/run"},
    {"POST", "/flows/AccLinear_ref/runs/1/steps/start/step"},
    {"POST", "/flows/AccLinear_ref/runs/1/steps/start/task"},
    {"POST", "/flows/AccLinear_ref/runs/1/steps/start/tasks/1/metadata"},
    {"POST", "/flows/AccLinear_ref/runs/1/steps/start/tasks/1/artifact"},
    {"PATCH", "/flows/AccLinear_ref/runs/1/tag/mutate"},
    {"POST", "/flows/AccLinear_ref/runs/1/heartbeat"},
    {"POST", "/flows/AccLinear_ref/runs/1/steps/start/tasks/1/heartbeat"},
};

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "INVARIANT BROKEN: %s\n", what);
        std::abort();
    }
}

std::vector<std::string> strings_of(const json::value* value) {
    std::vector<std::string> out;
    if (value && value->is_array()) {
        for (const auto& item : value->as_array()) {
            if (item.is_string()) out.emplace_back(item.as_string());
        }
    }
    return out;
}

void read_directly(std::string_view body) {
    auto parsed = mf::api::parse_body(body);
    if (!parsed) return;
    auto object = mf::api::parse_object_body(body);
    check(object.ok() == parsed->is_object(), "parse_object_body disagrees with parse_body");
    if (!object) {
        if (parsed->is_array()) {
            for (const auto& item : parsed->as_array()) mf::metadata_value_text(item);
        }
        mf::metadata_value_text(*parsed);
        return;
    }
    mf::api::FieldReader fields(*object, "fuzz: ");
    for (const auto& [key, value] : *object) {
        fields.string(key);
        fields.short_string(key, std::string("x"));
        fields.integer(key, 0, -1, INT64_MAX);
        fields.integer(key, 7, 0, 1000);
        auto tags = fields.tags(key);
        if (tags != mf::kJsonNull) {
            auto reparsed = json::parse(tags);
            check(reparsed.is_array(), "tags() kept something that is not an array");
            mf::sends_heartbeats(tags);
        }
        auto text = mf::metadata_value_text(value);
        if (value.is_string()) check(text && *text == value.as_string(), "string value changed");
    }
    mf::api::FieldReader tag_fields(*object);
    auto tags = tag_fields.tags("tags");
    auto system_tags = tag_fields.tags("system_tags");
    mf::sends_heartbeats(system_tags);
    mf::TagMutation mutation{strings_of(object->if_contains("tags_to_add")),
                             strings_of(object->if_contains("tags_to_remove"))};
    auto mutated = mf::mutate_tags(tags, system_tags, mutation);
    if (mutated) {
        auto after = json::parse(mutated->tags);
        check(after.is_array() || after.is_null(), "mutated tags are not a list");
        // Every added tag that is not a system tag is there afterwards.
        if (after.is_array()) {
            auto system_list = json::parse(system_tags);
            for (const auto& added : mutation.add) {
                bool system = false;
                if (system_list.is_array()) {
                    for (const auto& s : system_list.as_array()) {
                        system = system || s.as_string() == added;
                    }
                }
                bool present = false;
                for (const auto& t : after.as_array()) present = present || t.as_string() == added;
                check(system || present, "an added tag is missing after mutate_tags");
            }
        }
    }
    mf::api::utf8_length(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto& harness = mf::fuzz::Harness::instance();
    auto body = mf::fuzz::bytes(data + 1, size - 1);
    read_directly(body);
    const auto& target = kTargets[data[0] % std::size(kTargets)];
    mf::http::Request request;
    request.method = target.method;
    request.target = target.path;
    request.headers.emplace_back("content-type", "application/json");
    request.body = std::string(body);
    harness.handle(request);
    return 0;
}
