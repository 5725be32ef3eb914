#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "api/context.hpp"
#include "api/paging.hpp"
#include "api/render.hpp"
#include "api/reply.hpp"
#include "store/store.hpp"

namespace mf::api {

// Rows of a legacy list per store call: the unpaginated lists are read in pages of this many
// rows (keyset on the list's own order) and each page is written out before the next is read.
inline constexpr std::int64_t kStreamPageRows = 1000;

// Reads one page of a legacy list: the store's paged read with `paging.legacy_rows` set.
template <class T>
using PageReader = std::function<Async<std::vector<T>>(Paging)>;

namespace detail {

// The JSON of `count` rows as a part of the array: "[" before the first page, "," before the
// rows of the others, "]" after the last; together the parts are to_json(all rows).
template <class T>
std::string json_part(const std::vector<T>& rows, std::size_t count, bool first, bool last) {
    JsonWriter out;
    for (std::size_t i = 0; i < count; ++i) write(out, rows[i]);
    std::string part = first ? "[" : count > 0 ? "," : "";
    part += out.text();
    if (last) part += ']';
    return part;
}

template <class T>
struct ListStream {
    PageReader<T> read_page;
    Paging paging;
    bool done = false;
};

// The part after the previous one, or nullopt after the last. Throws when the store fails:
// the status line has gone out already, so the server can only cut the body short.
template <class T>
boost::asio::awaitable<std::optional<std::string>> next_part(
    std::shared_ptr<ListStream<T>> stream) {
    if (stream->done) co_return std::nullopt;
    auto rows = co_await stream->read_page(stream->paging);
    if (!rows) throw std::runtime_error("reading the next page failed: " + rows.error().message);
    const auto page = static_cast<std::size_t>(kStreamPageRows);
    const bool last = rows->size() <= page;
    const std::size_t count = std::min(rows->size(), page);
    if (!last) stream->paging.after = cursor_key((*rows)[count - 1]);
    stream->done = last;
    co_return json_part(*rows, count, false, last);
}

}  // namespace detail

// The reply of a legacy (unpaginated) list, with the very body to_json(all rows) would give.
// A list of one page is an ordinary reply; a longer one is streamed page by page, so that the
// server's memory stays flat whatever the list's size.
template <class T>
Awaitable streamed_list(PageReader<T> read_page) {
    auto stream = std::make_shared<detail::ListStream<T>>();
    stream->read_page = std::move(read_page);
    stream->paging = Paging{.limit = kStreamPageRows, .after = std::nullopt, .legacy_rows = true};
    auto rows = co_await stream->read_page(stream->paging);
    if (!rows) co_return error_reply(rows.error());
    const auto page = static_cast<std::size_t>(kStreamPageRows);
    if (rows->size() <= page) co_return json_reply(to_json(*rows));
    auto reply = json_reply(detail::json_part(*rows, page, true, false));
    stream->paging.after = cursor_key((*rows)[page - 1]);
    reply.more_body = [stream] { return detail::next_part(stream); };
    co_return reply;
}

}  // namespace mf::api
