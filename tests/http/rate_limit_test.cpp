#include "http/rate_limit.hpp"

#include <gtest/gtest.h>

namespace mf::http {
namespace {

TEST(RateLimiter, AllowsTheBurstThenAsksToWait) {
    RateLimiter limiter(1, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.acquire("a").count(), 0) << i;
    auto wait = limiter.acquire("a");
    EXPECT_GT(wait.count(), 0);
    EXPECT_LE(wait.count(), 1000);
}

TEST(RateLimiter, CountsEachClientApart) {
    RateLimiter limiter(1, 1);
    EXPECT_EQ(limiter.acquire("a").count(), 0);
    EXPECT_GT(limiter.acquire("a").count(), 0);
    EXPECT_EQ(limiter.acquire("b").count(), 0);
}

}  // namespace
}  // namespace mf::http
