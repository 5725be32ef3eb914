#include "http/api_keys.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_server.hpp"

namespace mf::http {
namespace {

// A digest as a key file holds it: 64 hex digits.
constexpr const char* kDigest = "a4d4e2f5b9c87d0c1e1d3e6b95e0e2ab4b0ba9c3e3c9db2e0e7c6fd5a1b9d4e3";

TEST(KeyRing, ParsesPlainHashedAndRoles) {
    auto keys = KeyRing::parse("# comment\n\nalice:open-sesame\nci:sha256:" + std::string(kDigest) +
                                   "\nviewer:look read-only\n",
                               "test");
    ASSERT_EQ(keys.size(), 3u);
    EXPECT_EQ(keys[0].name, "alice");
    EXPECT_EQ(keys[0].role, KeyRole::read_write);
    EXPECT_EQ(keys[1].name, "ci");
    EXPECT_EQ(keys[2].role, KeyRole::read_only);
}

TEST(KeyRing, RefusesMalformedLinesNamingThem) {
    EXPECT_THROW(KeyRing::parse("nocolon", "f"), std::invalid_argument);
    EXPECT_THROW(KeyRing::parse("a:sha256:abc", "f"), std::invalid_argument);
    EXPECT_THROW(KeyRing::parse("a:key admin", "f"), std::invalid_argument);
    try {
        KeyRing::parse("ok:1\n:empty-name", "keys.txt");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("keys.txt entry 2"), std::string::npos) << e.what();
    }
}

TEST(KeyRing, FindsKeysByTheirSecretOnly) {
    KeyRing ring(
        std::nullopt,
        "alice:open-sesame,bob:sha256:" +
            std::string("a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"));
    EXPECT_EQ(ring.find("open-sesame")->name, "alice");
    EXPECT_EQ(ring.find("123")->name, "bob");  // sha256("123")
    EXPECT_FALSE(ring.find("open-sesam"));
    EXPECT_FALSE(ring.find("alice"));
    EXPECT_FALSE(ring.find(""));
}

TEST(KeyRing, ReloadKeepsOldKeysWhenTheFileIsBroken) {
    testing::TempDir dir;
    auto path = (dir.path() / "keys").string();
    std::ofstream(path) << "a:one\n";
    KeyRing ring(path, "");
    EXPECT_TRUE(ring.find("one"));
    std::ofstream(path) << "a:two\n";
    ring.reload();
    EXPECT_FALSE(ring.find("one"));
    EXPECT_TRUE(ring.find("two"));
    std::ofstream(path) << "broken line\n";
    EXPECT_THROW(ring.reload(), std::invalid_argument);
    EXPECT_TRUE(ring.find("two"));
}

}  // namespace
}  // namespace mf::http
