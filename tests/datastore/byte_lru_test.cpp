#include "datastore/byte_lru.hpp"

#include <gtest/gtest.h>

namespace mf::datastore::testing {
namespace {

std::shared_ptr<const std::string> text(std::string value) {
    return std::make_shared<const std::string>(std::move(value));
}

TEST(ByteLru, EvictsTheLeastRecentlyUsedOnceOverItsBytes) {
    ByteLru<std::string> cache(10);
    cache.put("a", text("aaaa"), 4);
    cache.put("b", text("bbbb"), 4);
    ASSERT_TRUE(cache.get("a"));  // "b" is now the least recently used
    cache.put("c", text("cccc"), 4);
    EXPECT_TRUE(cache.get("a"));
    EXPECT_FALSE(cache.get("b"));
    EXPECT_EQ(*cache.get("c"), "cccc");
    EXPECT_EQ(cache.bytes(), 8u);
}

TEST(ByteLru, ReplacesErasesAndKeepsNothingHeavierThanItsBound) {
    ByteLru<std::string> cache(10);
    cache.put("a", text("one"), 3);
    cache.put("a", text("two"), 5);
    EXPECT_EQ(*cache.get("a"), "two");
    EXPECT_EQ(cache.bytes(), 5u);
    auto kept = cache.get("a");
    cache.erase("a");
    EXPECT_FALSE(cache.get("a"));
    EXPECT_EQ(*kept, "two");  // a reader keeps what it got
    cache.put("huge", text("x"), 11);
    EXPECT_FALSE(cache.get("huge"));
    EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace mf::datastore::testing
