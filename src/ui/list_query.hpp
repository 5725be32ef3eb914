#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "model/result.hpp"
#include "store/ui_reader.hpp"

// The web UI's list grammar, read from a request's query string: _page, _limit, _order,
// _group, _group_limit, _tags (all, any, likeall, likeany) and field[:op]=v1,v2 filters.
// What the reference ignores is ignored here too: unknown columns, operators and keys.
namespace mf::ui {

inline constexpr std::int64_t kDefaultLimit = 10;
inline constexpr std::int64_t kMaxLimit = 1000;

struct Paging {
    std::int64_t page = 1;
    std::int64_t limit = kDefaultLimit;  // 0: every row
};

// _page and _limit: numbers that do not parse take their defaults, pages start at 1, limits
// above 1,000 are 1,000. A negative limit is invalid.
Result<Paging> read_paging(const http::Request& request);

// The order, groups and filters of the request for `resource`, into `query`, with the
// paging. Only columns the resource lets a client filter, order or group by are taken.
Result<Ok> read_list_query(const http::Request& request, UiListQuery& query);

}  // namespace mf::ui
