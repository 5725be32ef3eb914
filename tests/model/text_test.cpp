#include "model/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace mf {
namespace {

TEST(Text, ParseNumberTakesOnlyTheWholeText) {
    EXPECT_EQ(parse_number<std::int64_t>("42"), 42);
    EXPECT_EQ(parse_number<std::int64_t>("-7"), -7);
    EXPECT_EQ(parse_number<std::int64_t>(""), std::nullopt);
    EXPECT_EQ(parse_number<std::int64_t>("+1"), std::nullopt);
    EXPECT_EQ(parse_number<std::int64_t>(" 1"), std::nullopt);
    EXPECT_EQ(parse_number<std::int64_t>("12x"), std::nullopt);
    EXPECT_EQ(parse_number<std::int64_t>("99999999999999999999"), std::nullopt);
    EXPECT_EQ(parse_number<unsigned>("-1"), std::nullopt);
    EXPECT_EQ(parse_number<std::int16_t>("32768"), std::nullopt);
    EXPECT_EQ(parse_number<double>("1.5e3"), 1500.0);
    EXPECT_EQ(parse_number<double>("1.5."), std::nullopt);
}

TEST(Text, ParsePythonNumberAllowsBlanksAndOnePlusAsPythonDoes) {
    EXPECT_EQ(parse_python_number<std::int64_t>(" +12\t"), 12);
    EXPECT_EQ(parse_python_number<std::int64_t>("-3 "), -3);
    EXPECT_EQ(parse_python_number<std::int64_t>("++1"), std::nullopt);
    EXPECT_EQ(parse_python_number<std::int64_t>("+-1"), std::nullopt);
    EXPECT_EQ(parse_python_number<std::int64_t>("  "), std::nullopt);
    EXPECT_EQ(parse_python_number<std::int64_t>("1.0"), std::nullopt);
    EXPECT_EQ(parse_python_number<double>(" +2.5 "), 2.5);
}

TEST(Text, LowerTrimAndSplit) {
    EXPECT_EQ(ascii_lower("MiXeD-1"), "mixed-1");
    EXPECT_EQ(trim_space("\t a b \n"), "a b");
    EXPECT_EQ(trim_space("   "), "");
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
}

}  // namespace
}  // namespace mf
