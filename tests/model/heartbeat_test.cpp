#include "model/heartbeat.hpp"

#include <gtest/gtest.h>

namespace mf {
namespace {

JsonText version_tag(const std::string& version) {
    return "[\"runtime:dev\",\"metaflow_version:" + version + "\"]";
}

// The reference's own table (docs/api.md#heartbeats).
TEST(SendsHeartbeats, FollowsTheReferenceVersionTable) {
    for (const char* version : {"0.5", "1", "1.13", "2", "2.0", "2.0.0", "2.0.5", "2.2.11"}) {
        EXPECT_FALSE(sends_heartbeats(version_tag(version))) << version;
    }
    for (const char* version : {"1.14.0", "1.22.1", "2.2.12", "2.2.12+ab1234", "2.3", "2.3.1",
                                "2.4.1", "2.12.24.break", "3", "2.19.38"}) {
        EXPECT_TRUE(sends_heartbeats(version_tag(version))) << version;
    }
}

TEST(SendsHeartbeats, UnparsableVersionCountsAsCapable) {
    EXPECT_TRUE(sends_heartbeats(version_tag("custom-1")));
    EXPECT_TRUE(sends_heartbeats(version_tag("2.12.24.post9-git2a5367b+ob(v1)")));
}

TEST(SendsHeartbeats, MissingOrNullTagsCountAsCapable) {
    EXPECT_TRUE(sends_heartbeats(kJsonNull));
    EXPECT_TRUE(sends_heartbeats("5"));
}

TEST(SendsHeartbeats, NoVersionTagMeansNoHeartbeats) {
    EXPECT_FALSE(sends_heartbeats("[]"));
    EXPECT_FALSE(sends_heartbeats("[\"2.2.12\"]"));
    EXPECT_FALSE(sends_heartbeats("[\"user:alice\"]"));
}

TEST(SendsHeartbeats, OnlyTheFirstVersionTagCounts) {
    EXPECT_FALSE(sends_heartbeats("[\"metaflow_version:2.0\",\"metaflow_version:2.9\"]"));
}

}  // namespace
}  // namespace mf
