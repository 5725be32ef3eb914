#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "store/ui_reader.hpp"
#include "ui/list_query.hpp"

// The reference UI backend's JSON envelopes. A list:
//   {"data": [...], "status": 200, "links": {self, first, prev, next, last},
//    "pages": {self, first, prev, next, last}, "query": {...}}
// one object: {"data": {...}, "status": 200, "links": {"self": ...}, "query": {...}}.
// Links are absolute: the scheme and host of the first X-Forwarded-Proto / X-Forwarded-Host
// item, else of the request, unless a base URL is configured.
namespace mf::ui {

struct LinkBase {
    std::optional<std::string> base_url;  // MF_BASEURL: scheme, host and any path before ours
};

// A row as a JSON object, its cells typed by the resource's columns, then `addition` (more
// members, each starting with ", ").
void write_row(std::string& out, UiResource resource, const UiRow& row,
               std::string_view addition = {});

// `last_page`, when known (logs, cards), fills `last` in the links and pages.
http::Reply list_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                       std::string data_json, std::size_t count,
                       std::optional<std::int64_t> last_page = std::nullopt);
// `additions`, when given, holds one addition per row (see write_row).
http::Reply rows_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                       UiResource resource, const std::vector<UiRow>& rows,
                       const std::vector<std::string>& additions = {});
http::Reply strings_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                          const std::vector<std::string>& values);
// One row, or 404 with "data": {} when there is none.
http::Reply single_reply(const http::Request& request, const LinkBase& base, UiResource resource,
                         const std::vector<UiRow>& rows, std::string_view addition = {});
// One object given as JSON, with `status`.
http::Reply single_json_reply(const http::Request& request, const LinkBase& base,
                              std::string_view data_json, unsigned status = 200);
// A failed list: the status, with the reason as the data string, as the reference answers
// a database error.
http::Reply list_error_reply(const http::Request& request, const LinkBase& base,
                             const Paging& paging, unsigned status, const std::string& reason);
http::Reply json_reply(unsigned status, std::string body);

}  // namespace mf::ui
