#include "http/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace mf::http {
namespace {

// Past this many clients, buckets that have refilled completely are forgotten, so that a
// scan from many addresses cannot grow the map without bound.
constexpr std::size_t kMaxTrackedClients = 100'000;

}  // namespace

std::chrono::milliseconds RateLimiter::acquire(const std::string& client) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() >= kMaxTrackedClients) {
        std::erase_if(buckets_, [&](const auto& entry) {
            std::chrono::duration<double> idle = now - entry.second.updated;
            return entry.second.tokens + idle.count() * rate_ >= burst_;
        });
    }
    auto [it, inserted] = buckets_.try_emplace(client, Bucket{burst_, now});
    auto& bucket = it->second;
    std::chrono::duration<double> elapsed = now - bucket.updated;
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed.count() * rate_);
    bucket.updated = now;
    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return std::chrono::milliseconds(0);
    }
    double wait_seconds = (1.0 - bucket.tokens) / rate_;
    return std::chrono::milliseconds(static_cast<long>(std::ceil(wait_seconds * 1000)));
}

}  // namespace mf::http
