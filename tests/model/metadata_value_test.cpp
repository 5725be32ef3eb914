#include "model/metadata_value.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace mf {
namespace {

std::optional<std::string> text_of(const char* json) {
    return metadata_value_text(boost::json::parse(json));
}

TEST(MetadataValueText, StringsStayAsTheyAre) {
    EXPECT_EQ(text_of(R"("dev")"), "dev");
}

TEST(MetadataValueText, ScalarsBecomeText) {
    EXPECT_EQ(text_of("5"), "5");
    EXPECT_EQ(text_of("true"), "true");
}

// Observed in the reference trace: foreach-stack records.
TEST(MetadataValueText, ListsTakePostgresArrayForm) {
    EXPECT_EQ(text_of(R"(["items=7"])"), "{items=7}");
    EXPECT_EQ(text_of(R"(["outer_items=a","inner_items=1"])"), "{outer_items=a,inner_items=1}");
}

TEST(MetadataValueText, ListElementsAreQuotedWhereRequired) {
    EXPECT_EQ(text_of(R"(["a b","","null","x\"y"])"), R"({"a b","","null","x\"y"})");
}

TEST(MetadataValueText, ObjectsAndNullCannotBeStored) {
    EXPECT_FALSE(text_of(R"({"a":1})"));
    EXPECT_FALSE(text_of("null"));
}

}  // namespace
}  // namespace mf
