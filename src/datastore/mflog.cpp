#include "datastore/mflog.hpp"

#include "datastore/utf8.hpp"

#include <algorithm>
#include <ctime>
#include <tuple>

namespace mf::datastore {
namespace {

// The client's stand-in time for lines it cannot parse: datetime(3000, 1, 1).
constexpr std::string_view missing_stamp = "3000-01-01T00:00:00.000000";
constexpr std::int64_t missing_stamp_ms = 32503680000000;

struct Parsed {
    std::string stamp;  // the time stamp text, which the client sorts by
    std::string source;
    std::string id;
    std::string text;
    std::optional<std::int64_t> ms;
    bool parsed = false;
};

bool digits(std::string_view text, std::size_t from, std::size_t count) {
    if (from + count > text.size()) return false;
    return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from),
                       text.begin() + static_cast<std::ptrdiff_t>(from + count),
                       [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view text, std::size_t from, std::size_t count) {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i) value = value * 10 + (text[i] - '0');
    return value;
}

// "%Y-%m-%dT%H:%M:%S.%f" as Python's strptime reads it, as epoch milliseconds computed as
// the client does: (seconds + microseconds / 1e6) * 1000, truncated.
std::optional<std::int64_t> stamp_ms(std::string_view stamp) {
    if (stamp.size() < 21 || !digits(stamp, 0, 4) || stamp[4] != '-' || !digits(stamp, 5, 2) ||
        stamp[7] != '-' || !digits(stamp, 8, 2) || stamp[10] != 'T' || !digits(stamp, 11, 2) ||
        stamp[13] != ':' || !digits(stamp, 14, 2) || stamp[16] != ':' || !digits(stamp, 17, 2) ||
        stamp[19] != '.') {
        return std::nullopt;
    }
    std::size_t fraction_digits = stamp.size() - 20;
    if (fraction_digits < 1 || fraction_digits > 6 || !digits(stamp, 20, fraction_digits)) {
        return std::nullopt;
    }
    std::tm parts{};
    parts.tm_year = number(stamp, 0, 4) - 1900;
    parts.tm_mon = number(stamp, 5, 2) - 1;
    parts.tm_mday = number(stamp, 8, 2);
    parts.tm_hour = number(stamp, 11, 2);
    parts.tm_min = number(stamp, 14, 2);
    parts.tm_sec = number(stamp, 17, 2);
    if (parts.tm_mon > 11 || parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 ||
        parts.tm_min > 59 || parts.tm_sec > 61) {
        return std::nullopt;
    }
    int microseconds = number(stamp, 20, fraction_digits);
    for (std::size_t i = fraction_digits; i < 6; ++i) microseconds *= 10;
    double seconds = static_cast<double>(timegm(&parts)) + microseconds / 1e6;
    return static_cast<std::int64_t>(seconds * 1000);
}

// As the client decodes log text, strictly, but repairing rather than failing.
std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto character = next_utf8(text, i);
        if (character.valid && !(character.code >= 0xd800 && character.code <= 0xdfff)) {
            out.append(text.substr(i, character.length));
        } else {
            out += "\xef\xbf\xbd";
        }
        i += character.length;
    }
    return out;
}

// Metaflow's pattern, matched at the start: (\[!)?\[MFLOG\|(0)\|(.+?)Z\|(.+?)\|(.+?)\](.*)
Parsed parse_line(std::string_view raw) {
    Parsed result;
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::string_view rest = line;
    if (rest.substr(0, 2) == "[!") rest.remove_prefix(2);
    constexpr std::string_view head = "[MFLOG|0|";
    if (rest.substr(0, head.size()) == head) {
        rest.remove_prefix(head.size());
        auto stamp_end = rest.find("Z|", 1);
        if (stamp_end != std::string_view::npos) {
            auto stamp = rest.substr(0, stamp_end);
            rest.remove_prefix(stamp_end + 2);
            auto source_end = rest.find('|', 1);
            if (source_end != std::string_view::npos && !rest.empty()) {
                auto source = rest.substr(0, source_end);
                rest.remove_prefix(source_end + 1);
                auto id_end = rest.find(']', 1);
                if (id_end != std::string_view::npos && !rest.empty()) {
                    auto ms = stamp_ms(stamp);
                    if (ms) {
                        result.stamp = std::string(stamp);
                        result.source = std::string(source);
                        result.id = std::string(rest.substr(0, id_end));
                        result.text = std::string(rest.substr(id_end + 1));
                        result.ms = ms;
                        result.parsed = true;
                        return result;
                    }
                }
            }
        }
    }
    result.stamp = std::string(missing_stamp);
    result.text = std::string(raw);
    result.ms = missing_stamp_ms;
    return result;
}

std::vector<Parsed> sorted_file(std::string_view file) {
    std::vector<Parsed> parsed;
    std::vector<Parsed> unparsed;
    std::size_t start = 0;
    while (start < file.size()) {
        auto end = file.find('\n', start);
        std::size_t stop = end == std::string_view::npos ? file.size() : end + 1;
        Parsed line = parse_line(file.substr(start, stop - start));
        (line.parsed ? parsed : unparsed).push_back(std::move(line));
        start = stop;
    }
    auto key = [](const Parsed& p) { return std::tie(p.stamp, p.source, p.id, p.text); };
    std::stable_sort(parsed.begin(), parsed.end(),
                     [&](const Parsed& a, const Parsed& b) { return key(a) < key(b); });
    std::stable_sort(unparsed.begin(), unparsed.end(),
                     [](const Parsed& a, const Parsed& b) { return a.text < b.text; });
    for (auto& line : unparsed) parsed.push_back(std::move(line));
    return parsed;
}

}  // namespace

std::vector<LogLine> merge_mflogs(const std::vector<std::string>& files) {
    std::vector<std::vector<Parsed>> sorted;
    for (const auto& file : files) sorted.push_back(sorted_file(file));
    std::vector<std::size_t> next(sorted.size(), 0);
    std::vector<LogLine> merged;
    auto key = [](const Parsed& p) { return std::tie(p.stamp, p.parsed, p.source, p.id, p.text); };
    while (true) {
        std::optional<std::size_t> best;
        for (std::size_t f = 0; f < sorted.size(); ++f) {
            if (next[f] >= sorted[f].size()) continue;
            if (!best || key(sorted[f][next[f]]) < key(sorted[*best][next[*best]])) best = f;
        }
        if (!best) break;
        Parsed& line = sorted[*best][next[*best]++];
        merged.push_back({line.ms, valid_utf8(line.text)});
    }
    return merged;
}

std::vector<LogLine> legacy_log_lines(std::string_view text) {
    std::vector<LogLine> lines;
    std::size_t start = 0;
    while (true) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            lines.push_back({std::nullopt, valid_utf8(text.substr(start))});
            break;
        }
        lines.push_back({std::nullopt, valid_utf8(text.substr(start, end - start))});
        start = end + 1;
    }
    return lines;
}

LogPage paginate_log(const std::vector<LogLine>& lines, std::size_t page, std::size_t limit,
                     bool reverse) {
    LogPage result;
    page = std::max<std::size_t>(page, 1);
    if (limit == 0) limit = std::max<std::size_t>(lines.size(), 1);
    result.pages = std::max<std::size_t>((lines.size() + limit - 1) / limit, 1);
    if (page > result.pages) return result;
    // Reversed, page 1 is the last page of the forward paging, from its end.
    std::size_t forward_page = reverse ? result.pages - page + 1 : page;
    std::size_t first = limit * (forward_page - 1);
    std::size_t last = std::min(lines.size(), first + limit);
    for (std::size_t i = first; i < last; ++i) {
        std::size_t row = reverse ? last - 1 - (i - first) : i;
        result.rows.push_back({row, &lines[row]});
    }
    return result;
}

}  // namespace mf::datastore
