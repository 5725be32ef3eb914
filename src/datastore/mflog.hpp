#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf::datastore {

struct LogLine {
    std::optional<std::int64_t> timestamp_ms;  // null for legacy logs
    std::string line;
};

// The lines of one stream of a task attempt as the Metaflow client merges its MFLOG files
// (`[MFLOG|0|<UTC time>Z|<source>|<id>]<text>`, one file per source): each file's lines
// sorted by their time stamp text (then source, id and text), unparsable lines after them
// sorted by their raw text and stamped with the client's "missing" time (year 3000), and the
// files merged. Text that is not UTF-8 is repaired with U+FFFD.
std::vector<LogLine> merge_mflogs(const std::vector<std::string>& files);

// A log from before MFLOG (`<attempt>.<stream>.log`): its lines split on "\n", no time stamps.
std::vector<LogLine> legacy_log_lines(std::string_view text);

// One page of a log as the reference's log cache returns it: rows keep their position in the
// whole log; there are ceil(lines / limit) pages, at least one; a page past them is empty.
// Reversed, page 1 is the last page of the forward paging (which may be short), newest first.
struct LogRow {
    std::size_t row;
    const LogLine* line;
};
struct LogPage {
    std::vector<LogRow> rows;
    std::size_t pages = 1;
};
LogPage paginate_log(const std::vector<LogLine>& lines, std::size_t page, std::size_t limit,
                     bool reverse);

}  // namespace mf::datastore
