#pragma once

#include <string>
#include <vector>

#include "api/json_writer.hpp"
#include "model/entities.hpp"

namespace mf::api {

// How each resource looks on the wire (docs/api.md#objects), fields in the
// reference's order.
void write(JsonWriter& out, const Flow& flow);
// `with_user`: the derived verified-owner field, present on reads but not on create.
void write(JsonWriter& out, const Run& run, bool with_user = true);
void write(JsonWriter& out, const Step& step);
void write(JsonWriter& out, const Task& task);
void write(JsonWriter& out, const Metadata& record);
void write(JsonWriter& out, const Artifact& artifact);

template <class T>
std::string to_json(const T& object) {
    JsonWriter out;
    write(out, object);
    return out.take();
}

template <class T>
std::string to_json(const std::vector<T>& objects) {
    JsonWriter out;
    out.begin_array();
    for (const auto& object : objects) write(out, object);
    out.end_array();
    return out.take();
}

// "{flow}/{run}/{step}/{task}" with the exposed ids (docs/api.md#ids).
std::string task_pathspec(const Task& task);

}  // namespace mf::api
