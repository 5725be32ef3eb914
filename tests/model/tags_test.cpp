#include "model/tags.hpp"

#include <gtest/gtest.h>

namespace mf {
namespace {

const JsonText kSystem = R"(["user:alice","runtime:dev"])";

TEST(MutateTags, RemovesBeforeAddingAndIgnoresSystemTags) {
    auto result = mutate_tags(R"(["team:ml"])", kSystem, {{"reviewed", "user:alice"}, {"team:ml"}});
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->changed);
    EXPECT_EQ(result->tags, R"(["reviewed"])");
}

TEST(MutateTags, RefusesToRemoveSystemTags) {
    auto result = mutate_tags("[]", kSystem, {{}, {"runtime:dev", "user:alice"}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ErrorKind::unprocessable);
    EXPECT_EQ(result.error().message,
              "Cannot remove tags that are existing system tags {'runtime:dev', 'user:alice'}");
}

TEST(MutateTags, UnchangedSetKeepsStoredOrder) {
    auto result = mutate_tags(R"(["b","a"])", kSystem, {{"a"}, {"c"}});
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result->changed);
    EXPECT_EQ(result->tags, R"(["b","a"])");
}

TEST(MutateTags, NullTagsCountAsEmpty) {
    auto result = mutate_tags(kJsonNull, kJsonNull, {{"x", "x"}, {}});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->tags, R"(["x"])");
}

TEST(MutateTags, QuotesLikePythonWhenTheTagHasAQuote) {
    auto result = mutate_tags("[]", R"(["it's"])", {{}, {"it's"}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().message,
              "Cannot remove tags that are existing system tags {\"it's\"}");
}

}  // namespace
}  // namespace mf
