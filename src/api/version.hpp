#pragma once

namespace mf::api {

// The reference version this service is compatible with. The Metaflow client reads it
// from /ping and turns heartbeats and tag mutation off below 2.3.0 (docs/api.md#client-versions).
inline constexpr const char* kCompatibleVersion = "2.5.1";

}  // namespace mf::api
