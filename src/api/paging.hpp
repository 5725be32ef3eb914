#pragma once

#include <optional>
#include <vector>

#include "api/render.hpp"
#include "api/reply.hpp"
#include "http/message.hpp"
#include "model/query.hpp"
#include "model/result.hpp"

namespace mf::api {

// Which key tuple a list pages by (docs/api.md#pagination); it decides the cursor's JSON keys.
enum class CursorFamily { flows, runs, tasks, metadata, artifacts };

// Paginated mode is on when `_limit` or `_cursor` is in the query, or when `filtered`
// (a recognised filter on the run or task list). nullopt: the legacy unbounded list.
Result<std::optional<Paging>> read_paging(const http::Request& request, CursorFamily family,
                                          bool filtered);

std::string encode_cursor(CursorFamily family, const CursorKey& key);
Result<CursorKey> decode_cursor(CursorFamily family, std::string_view cursor);

CursorKey cursor_key(const Flow& flow);
CursorKey cursor_key(const Run& run);
CursorKey cursor_key(const Task& task);
CursorKey cursor_key(const Metadata& record);
CursorKey cursor_key(const Artifact& artifact);

// The reply for a list: the store gave up to limit + 1 rows; the extra one only says that
// a next page exists (X-Next-Cursor, from the last row returned).
template <class T>
http::Reply list_reply(std::vector<T>&& rows, const std::optional<Paging>& paging,
                       CursorFamily family) {
    if (!paging) return json_reply(to_json(rows));
    std::optional<CursorKey> next;
    if (static_cast<std::int64_t>(rows.size()) > paging->limit) {
        rows.resize(static_cast<std::size_t>(paging->limit));
        if (!rows.empty()) next = cursor_key(rows.back());
    }
    auto reply = json_reply(to_json(rows));
    reply.headers.emplace_back("X-Limit", std::to_string(paging->limit));
    if (next) reply.headers.emplace_back("X-Next-Cursor", encode_cursor(family, *next));
    return reply;
}

}  // namespace mf::api
