#include "model/json_integer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>

namespace mf {
namespace {

namespace json = boost::json;

TEST(JsonInteger, TakesNumbersAndTheirDecimalTextWithinInt64) {
    EXPECT_EQ(json_integer(json::value(42)), 42);
    EXPECT_EQ(json_integer(json::value(-7)), -7);
    EXPECT_EQ(json_integer(json::parse("9223372036854775807")), INT64_MAX);
    EXPECT_EQ(json_integer(json::parse("9223372036854775808")), std::nullopt);
    EXPECT_EQ(json_integer(json::value("1700000000000")), 1'700'000'000'000);
    EXPECT_EQ(json_integer(json::value("12x")), std::nullopt);
    EXPECT_EQ(json_integer(json::value(1.5)), std::nullopt);
    EXPECT_EQ(json_integer(json::value(true)), std::nullopt);
    EXPECT_EQ(json_integer(json::value(nullptr)), std::nullopt);
}

}  // namespace
}  // namespace mf
