#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace mf::datastore {

// A Python value decoded from a pickle. Pickles share objects and may even put a container
// inside itself, so the value is a graph of nodes addressed by index rather than a tree:
// nothing is copied, cycles cost nothing to hold, and freeing it never recurses.
using NodeId = std::uint32_t;

enum class PyKind : std::uint8_t {
    none,
    boolean,
    integer,      // fits in 64 bits
    big_integer,  // `text` holds little-endian two's complement bytes, as pickled
    floating,
    str,    // `text` holds UTF-8
    bytes,  // `text` holds the bytes
    list,
    tuple,  // `text` names the class of a tuple subclass (a namedtuple), else empty
    dict,   // `items` holds key, value, key, value, ... in insertion order
    set,
    frozenset,
    object,    // any other class, decoded only far enough to name it (`text`)
    callable,  // a class or function named by the pickle (`module`, `text`); never a result
};

struct PyNode {
    PyKind kind = PyKind::none;
    bool boolean = false;
    std::int64_t integer = 0;
    double floating = 0;
    std::string text;
    std::string module;
    std::vector<NodeId> items;
};

struct PyGraph {
    std::vector<PyNode> nodes;
    NodeId root = 0;

    const PyNode& at(NodeId id) const { return nodes[id]; }
    const PyNode& root_node() const { return nodes[root]; }
};

// Bounds on what one pickle may make the decoder hold; the input is untrusted.
struct PickleLimits {
    std::size_t max_nodes = std::size_t{1} << 22;
    std::size_t max_stack = std::size_t{1} << 20;
};

// Decodes a pickle of protocol 2 to 5. None, bool, int, float, str, bytes, list, tuple, dict,
// set and frozenset become values; objects of other classes become `object` nodes that name
// their class. A malformed stream is an error whose id is the exception Python's unpickler
// would raise (e.g. "UnpicklingError"), never a crash.
Result<PyGraph> unpickle(std::string_view bytes, const PickleLimits& limits = {});

}  // namespace mf::datastore
