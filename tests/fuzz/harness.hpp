#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/router.hpp"

namespace mf::fuzz {

// The service's request path without its sockets, for the libFuzzer targets: the real API
// routes (mf::api::add_routes) and mf::http::Pipeline over a SQLite store in a temporary
// directory. The store is filled once by replaying the conformance trace, so that the
// objects the trace (and thus the seed corpus) names exist. State then accumulates across
// inputs; a crash that depends on it shows up again when its input is run after the trace.
class Harness {
public:
    static Harness& instance();

    // Runs `request` through the pipeline on a local event loop until it has its reply,
    // and checks the invariants every reply must keep (abort() on a violation).
    http::Reply handle(http::Request& request);

    ~Harness();

private:
    Harness();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What every reply must satisfy, whatever the request: a valid status code; a JSON body for
// every 4xx and 5xx of a matched route; no 500 (a handler threw or the store failed on a
// request it should have refused). Aborts with a message naming the broken rule.
void check_reply(const http::Request& request, const http::Reply& reply);

// Fuzzer input as bytes.
inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mf::fuzz
