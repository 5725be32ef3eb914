// libFuzzer target: artifact blobs, which come from a datastore anyone with write access to
// it can fill. A gzip stream (as the datastore holds them) is inflated first, anything else
// is taken as a pickle; the value is then rendered both ways the UI shows values (Python
// str() after JSON, and JSON). Every path must end in a value or an error, within the limits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "datastore/gzip.hpp"
#include "datastore/pickle.hpp"
#include "datastore/value_render.hpp"

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_pickle: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mf::datastore;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string inflated;
    if (input.size() >= 2 && input.substr(0, 2) == "\x1f\x8b") {
        auto result = gunzip(input, 1 << 20);
        if (!result) {
            check(!result.error().id.empty(), "a gzip error without an id");
            return 0;
        }
        inflated = std::move(*result);
        input = inflated;
    }
    PickleLimits limits{.max_nodes = 1 << 16, .max_stack = 1 << 14};
    auto value = unpickle(input, limits);
    if (!value) {
        check(!value.error().id.empty(), "an unpickling error without an id");
        return 0;
    }
    check(value->root < value->nodes.size(), "a root outside the graph");
    for (const auto& node : value->nodes) {
        for (NodeId item : node.items)
            check(item < value->nodes.size(), "an item outside the graph");
    }
    RenderLimits render{.max_depth = 200, .max_output_bytes = 1 << 20};
    auto text = python_str_via_json(*value, render);
    auto json = to_json(*value, render);
    check(text.ok() == json.ok(), "the two renderings disagree on whether the value renders");
    if (!text) check(text.error().id == json.error().id, "the two renderings fail differently");
    return 0;
}
