#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace mf::datastore {

// Where a datastore's objects live: a local folder or an S3 prefix. Keys are '/'-separated
// paths below that root, as Metaflow lays them out. Calls block: run them on a worker pool
// (AsyncDatastore), never on an event loop. Errors carry the ids the UI knows: a missing
// object is not_found with "MetaflowNotFound" (local) or "MetaflowS3NotFound"; refused
// access is "MetaflowS3AccessDenied"; other failures "MetaflowS3Exception" or "DataException".
class ObjectStore {
public:
    virtual ~ObjectStore() = default;

    // The whole object; an object larger than `max_bytes` is an error ("artifact-too-large").
    virtual Result<std::string> read(std::string_view key, std::size_t max_bytes) = 0;
    // The object's size, or nullopt when it does not exist.
    virtual Result<std::optional<std::uint64_t>> size(std::string_view key) = 0;
    // The names of the objects directly inside the folder `prefix` (no trailing '/'), sorted.
    virtual Result<std::vector<std::string>> list(std::string_view prefix) = 0;
    // "file:///path" or "s3://bucket/prefix", for messages and cache keys.
    virtual std::string root_url() const = 0;
};

// Keys come from request paths: a key with an empty, "." or ".." segment could leave the root.
bool safe_key(std::string_view key);

// Whether `error` says the store itself is out of reach (no answer, or a failing one, through
// every retry) rather than that one object could not be read: asking it again for the next
// object would cost the same retries, so a caller reading many objects stops there.
bool out_of_reach(const Error& error);

}  // namespace mf::datastore
