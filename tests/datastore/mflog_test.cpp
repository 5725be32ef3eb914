#include "datastore/mflog.hpp"

#include <gtest/gtest.h>

namespace mf::datastore {
namespace {

std::vector<std::string> texts(const std::vector<LogLine>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) out.push_back(line.line);
    return out;
}

TEST(MergeMflogs, MergesSourcesByTimeStampAndPutsUnparsableLinesLast) {
    std::string runtime =
        "[MFLOG|0|2026-12-05T07:43:46.300236Z|runtime|a]first\n"
        "not structured b\n"
        "[MFLOG|0|2026-12-05T07:43:48.5Z|runtime|c]third\n"
        "not structured a\n";
    std::string task =
        "[MFLOG|0|2026-12-05T07:43:47.000001Z|task|d]second\n"
        "[MFLOG|0|2026-12-05T07:43:48.5Z|task|b]third from task\n";
    auto lines = merge_mflogs({runtime, task});
    EXPECT_EQ(texts(lines), (std::vector<std::string>{"first", "second", "third", "third from task",
                                                      "not structured a\n", "not structured b\n"}));
    EXPECT_EQ(lines[0].timestamp_ms, 1796456626300);
    EXPECT_EQ(lines[2].timestamp_ms, 1796456628500);
    // The client's stand-in time for lines it cannot read: 3000-01-01.
    EXPECT_EQ(lines[4].timestamp_ms, 32503680000000);
}

TEST(MergeMflogs, ReadsTheMarkersAsMetaflowsPatternDoes) {
    auto lines =
        merge_mflogs({"[![MFLOG|0|2026-12-05T07:43:46.1Z|task|x]persisted]\n"
                      "[MFLOG|1|2026-12-05T07:43:46.1Z|task|x]other version\n"
                      "[MFLOG|0|yesterdayZ|task|x]bad time\n"
                      "[MFLOG|0|2026-12-05T07:43:46.2Z|task|x]\xff\n"});
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].line, "persisted]");
    EXPECT_EQ(lines[1].line, "\xef\xbf\xbd");
    EXPECT_EQ(lines[2].line, "[MFLOG|0|yesterdayZ|task|x]bad time\n");
    EXPECT_EQ(lines[3].line, "[MFLOG|1|2026-12-05T07:43:46.1Z|task|x]other version\n");
}

TEST(LegacyLog, SplitsOnNewlinesWithoutTimeStamps) {
    auto lines = legacy_log_lines("one\ntwo\n");
    EXPECT_EQ(texts(lines), (std::vector<std::string>{"one", "two", ""}));
    EXPECT_FALSE(lines[0].timestamp_ms.has_value());
}

TEST(PaginateLog, PagesBackwardsFromTheLastForwardPage) {
    std::vector<LogLine> lines;
    for (int i = 0; i < 25; ++i) lines.push_back({i, std::to_string(i)});
    auto first = paginate_log(lines, 1, 10, false);
    EXPECT_EQ(first.pages, 3u);
    ASSERT_EQ(first.rows.size(), 10u);
    EXPECT_EQ(first.rows[0].row, 0u);
    auto newest = paginate_log(lines, 1, 10, true);
    ASSERT_EQ(newest.rows.size(), 5u);  // the short last page, newest first
    EXPECT_EQ(newest.rows[0].row, 24u);
    EXPECT_EQ(newest.rows[4].row, 20u);
    auto reversed = paginate_log(lines, 2, 10, true);
    ASSERT_EQ(reversed.rows.size(), 10u);
    EXPECT_EQ(reversed.rows[0].row, 19u);
    EXPECT_EQ(reversed.rows[0].line->line, "19");
    EXPECT_TRUE(paginate_log(lines, 4, 10, false).rows.empty());
    EXPECT_EQ(paginate_log(lines, 1, 0, false).rows.size(), 25u);
    EXPECT_EQ(paginate_log({}, 1, 1000, false).pages, 1u);
}

}  // namespace
}  // namespace mf::datastore
