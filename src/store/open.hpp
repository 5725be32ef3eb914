#pragma once

#include <memory>
#include <string>

#include "model/clock.hpp"
#include "store/store.hpp"

namespace mf {

// Opens the store a database URL names: `sqlite:PATH` (the embedded default) or
// `postgresql://...`. Throws std::runtime_error with a message fit for an operator. The
// clock is the time of derived values (run status); it must outlive the store.
std::unique_ptr<Store> open_store(const std::string& url, const Clock& clock);

}  // namespace mf
