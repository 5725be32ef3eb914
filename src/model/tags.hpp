#pragma once

#include <string>
#include <vector>

#include "model/entities.hpp"
#include "model/result.hpp"

namespace mf {

struct TagMutation {
    std::vector<std::string> add;
    std::vector<std::string> remove;
};

struct MutatedTags {
    JsonText tags;  // what the run's tags are afterwards, as stored
    bool changed = false;
};

// The reference's tag-mutation rule (docs/api.md#tag-mutation): removals first, system tags are
// never removed (422) and never added as user tags. JSON null tags count as empty.
Result<MutatedTags> mutate_tags(const JsonText& tags, const JsonText& system_tags,
                                const TagMutation& mutation);

}  // namespace mf
