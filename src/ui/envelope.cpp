#include "ui/envelope.hpp"

#include <string_view>

#include "api/json_writer.hpp"
#include "http/url.hpp"

namespace mf::ui {
namespace {

// The first item of a comma-separated header, trimmed.
std::string first_item(const std::string& value) {
    std::string_view item(value);
    item = item.substr(0, item.find(','));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    return std::string(item);
}

std::string origin(const http::Request& request, const LinkBase& base) {
    if (base.base_url) return *base.base_url;
    const std::string* proto = request.header("x-forwarded-proto");
    const std::string* forwarded_host = request.header("x-forwarded-host");
    const std::string* host = request.header("host");
    const std::string scheme = proto ? first_item(*proto) : "http";
    const std::string authority =
        forwarded_host ? first_item(*forwarded_host) : (host ? *host : std::string());
    return scheme + "://" + authority;
}

// The request's path, percent-decoded as the reference writes it into its links.
std::string path_of(const http::Request& request) {
    const std::string raw = request.target.substr(0, request.target.find('?'));
    return http::percent_decode(raw, false).value_or(raw);
}

// Python's quote_plus with ':' and ',' kept: what the reference writes into its links.
void append_encoded(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~' || c == ':' || c == ',') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
}

// The request's query, first value per key in order of appearance.
http::Fields first_values(const http::Request& request) {
    http::Fields fields;
    for (const auto& [key, value] : request.query) {
        bool seen = false;
        for (const auto& field : fields) seen = seen || field.first == key;
        if (!seen) fields.emplace_back(key, value);
    }
    return fields;
}

std::string link(const std::string& prefix, http::Fields fields, std::optional<std::int64_t> page) {
    if (page) {
        bool replaced = false;
        for (auto& [key, value] : fields) {
            if (key == "_page") {
                value = std::to_string(*page);
                replaced = true;
            }
        }
        if (!replaced) fields.emplace_back("_page", std::to_string(*page));
    }
    std::string out = prefix;
    char separator = '?';
    for (const auto& [key, value] : fields) {
        out += separator;
        append_encoded(out, key);
        out += '=';
        append_encoded(out, value);
        separator = '&';
    }
    return out;
}

void write_query(api::JsonWriter& json, const http::Fields& fields) {
    json.key("query");
    json.begin_object();
    for (const auto& [key, value] : fields) json.key(key).string(value);
    json.end_object();
}

// The list's data is written by `write_data` straight into the body, which has room reserved
// for `data_size` bytes of it: a timeline page is half a megabyte, which a copy would fault in
// and move again.
template <typename WriteData>
std::string envelope(const http::Request& request, const LinkBase& base, const Paging& paging,
                     unsigned status, std::size_t data_size, const WriteData& write_data,
                     std::size_t count, std::optional<std::int64_t> last = std::nullopt) {
    const std::string prefix = origin(request, base) + path_of(request);
    const http::Fields fields = first_values(request);
    const std::int64_t prev = std::max<std::int64_t>(paging.page - 1, 1);
    const bool more = status == 200 && static_cast<std::int64_t>(count) >= paging.limit;
    api::JsonWriter json;
    json.text().reserve(data_size + 4 * prefix.size() + 1024);
    json.begin_object();
    write_data(json.key("data").raw_value());
    json.key("status").number(status);
    json.key("links");
    json.begin_object();
    json.key("self").string(link(prefix, fields, std::nullopt));
    json.key("first").string(link(prefix, fields, 1));
    json.key("prev").string(link(prefix, fields, prev));
    if (more) {
        json.key("next").string(link(prefix, fields, paging.page + 1));
    } else {
        json.key("next").null();
    }
    if (last) {
        json.key("last").string(link(prefix, fields, *last));
    } else {
        json.key("last").null();
    }
    json.end_object();
    json.key("pages");
    json.begin_object();
    json.key("self").number(paging.page);
    json.key("first").number(1);
    json.key("prev").number(prev);
    if (more) {
        json.key("next").number(paging.page + 1);
    } else {
        json.key("next").null();
    }
    if (last) {
        json.key("last").number(*last);
    } else {
        json.key("last").null();
    }
    json.end_object();
    write_query(json, fields);
    json.end_object();
    return json.take();
}

}  // namespace

void write_row(std::string& out, UiResource resource, const UiRow& row, std::string_view addition) {
    const auto columns = ui_columns(resource);
    out += '{';
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if (i > 0) out += ", ";
        api::append_json_string(out, columns[i].name);
        out += ": ";
        const auto& cell = row[i];
        if (!cell) {
            out += "null";
        } else if (columns[i].kind == UiColumnKind::text) {
            api::append_json_string(out, *cell);
        } else {
            out += *cell;
        }
    }
    out += addition;
    out += '}';
}

http::Reply json_reply(unsigned status, std::string body) {
    http::Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    reply.content_type = "application/json";
    reply.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return reply;
}

http::Reply list_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                       std::string data_json, std::size_t count,
                       std::optional<std::int64_t> last_page) {
    return json_reply(200, envelope(
                               request, base, paging, 200, data_json.size(),
                               [&](std::string& out) { out += data_json; }, count, last_page));
}

http::Reply rows_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                       UiResource resource, const std::vector<UiRow>& rows,
                       const std::vector<std::string>& additions) {
    std::size_t size = 2;
    for (const auto& row : rows) {
        size += 32 * row.size();
        for (const auto& cell : row) size += cell ? cell->size() : 0;
    }
    for (const auto& addition : additions) size += addition.size();
    auto write_rows = [&](std::string& out) {
        out += '[';
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i > 0) out += ", ";
            write_row(out, resource, rows[i], i < additions.size() ? additions[i] : "");
        }
        out += ']';
    };
    return json_reply(200, envelope(request, base, paging, 200, size, write_rows, rows.size()));
}

http::Reply strings_reply(const http::Request& request, const LinkBase& base, const Paging& paging,
                          const std::vector<std::string>& values) {
    std::string data = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) data += ", ";
        data += api::json_string(values[i]);
    }
    data += ']';
    return list_reply(request, base, paging, std::move(data), values.size());
}

http::Reply single_reply(const http::Request& request, const LinkBase& base, UiResource resource,
                         const std::vector<UiRow>& rows, std::string_view addition) {
    std::string data;
    if (rows.empty()) {
        data = "{}";
    } else {
        write_row(data, resource, rows.front(), addition);
    }
    return single_json_reply(request, base, data, rows.empty() ? 404 : 200);
}

http::Reply single_json_reply(const http::Request& request, const LinkBase& base,
                              std::string_view data_json, unsigned status) {
    api::JsonWriter json;
    json.begin_object();
    json.key("data").raw(data_json);
    json.key("status").number(status);
    json.key("links");
    json.begin_object();
    json.key("self").string(
        link(origin(request, base) + path_of(request), first_values(request), std::nullopt));
    json.end_object();
    write_query(json, first_values(request));
    json.end_object();
    return json_reply(status, json.take());
}

http::Reply list_error_reply(const http::Request& request, const LinkBase& base,
                             const Paging& paging, unsigned status, const std::string& reason) {
    const std::string data_json = api::json_string(reason);
    return json_reply(status, envelope(
                                  request, base, paging, status, data_json.size(),
                                  [&](std::string& out) { out += data_json; }, 0));
}

}  // namespace mf::ui
