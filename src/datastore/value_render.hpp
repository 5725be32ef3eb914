#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "datastore/pickle.hpp"
#include "model/result.hpp"

namespace mf::datastore {

// Bounds on rendering a decoded value: pickles may share one object many times (so a small
// pickle can stand for an enormous value) or put a container inside itself.
struct RenderLimits {
    std::size_t max_depth = 500;
    std::size_t max_output_bytes = std::size_t{16} << 20;
};

// An artifact's value as the reference UI shows it: the value is sent through JSON
// (json.dumps, then json.loads: tuples become lists, dict keys become strings) and then
// shown with Python's str(), e.g. "{'k': [1, 2, 3]}", "True", "None", "start". Values JSON
// cannot hold fail as Python fails, e.g. id "TypeError", "Object of type set is not JSON
// serializable".
Result<std::string> python_str_via_json(const PyGraph& value, const RenderLimits& limits = {});

// The value as the reference sends it inside a JSON response (json.dumps), with the same
// failures. Infinities and NaN, which JSON cannot carry, become null; integers beyond 64 bits
// become doubles.
Result<boost::json::value> to_json(const PyGraph& value, const RenderLimits& limits = {});

// Python's repr() of a float ("0.5", "123.0", "1e+16", "inf").
std::string python_float_repr(double value);

// Python's repr() of a str given as UTF-8 ("'it'", "\"it's\"", "'a\\n'").
std::string python_str_repr(std::string_view utf8);

}  // namespace mf::datastore
