#include "http/cidr.hpp"

#include <gtest/gtest.h>

namespace mf::http {
namespace {

boost::asio::ip::address at(const char* text) {
    return boost::asio::ip::make_address(text);
}

TEST(Cidr, MatchesIpv4Networks) {
    auto network = Cidr::parse("10.1.0.0/16");
    ASSERT_TRUE(network);
    EXPECT_TRUE(network->contains(at("10.1.200.3")));
    EXPECT_FALSE(network->contains(at("10.2.0.1")));
    EXPECT_TRUE(network->contains(at("::ffff:10.1.0.9")));  // v4-mapped
}

TEST(Cidr, MatchesIpv6Networks) {
    auto network = Cidr::parse("fd00:1::/32");
    ASSERT_TRUE(network);
    EXPECT_TRUE(network->contains(at("fd00:1::5")));
    EXPECT_FALSE(network->contains(at("fd00:2::5")));
    EXPECT_FALSE(network->contains(at("10.0.0.1")));
}

TEST(Cidr, BareAddressIsASingleHost) {
    auto host = Cidr::parse("127.0.0.2");
    ASSERT_TRUE(host);
    EXPECT_TRUE(host->contains(at("127.0.0.2")));
    EXPECT_FALSE(host->contains(at("127.0.0.1")));
    EXPECT_TRUE(Cidr::parse("::1")->contains(at("::1")));
}

TEST(Cidr, RefusesMalformedNetworks) {
    for (const char* bad :
         {"", "10.0.0.0/33", "10.0.0/8", "::/129", "10.0.0.0/", "x/8", "1.2.3.4/-1"}) {
        EXPECT_FALSE(Cidr::parse(bad)) << bad;
    }
    EXPECT_THROW(CidrList({"10.0.0.0/8", "nope"}), std::invalid_argument);
}

TEST(Cidr, EmptyListAllowsEveryone) {
    CidrList none;
    EXPECT_TRUE(none.allows(at("203.0.113.9")));
    EXPECT_FALSE(none.contains(at("203.0.113.9")));
    CidrList some({"0.0.0.0/0"});
    EXPECT_TRUE(some.allows(at("203.0.113.9")));
}

}  // namespace
}  // namespace mf::http
