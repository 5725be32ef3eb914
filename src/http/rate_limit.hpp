#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mf::http {

// A token bucket per client (API key name, or address when keys are off): `rate` requests
// a second on average, bursts of up to `burst`.
class RateLimiter {
public:
    RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

    // Zero when the request may proceed, otherwise how long until a token is available.
    std::chrono::milliseconds acquire(const std::string& client);

private:
    struct Bucket {
        double tokens;
        std::chrono::steady_clock::time_point updated;
    };

    double rate_;
    double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace mf::http
