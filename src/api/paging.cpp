#include "api/paging.hpp"

#include <boost/json.hpp>

#include "api/json_writer.hpp"
#include "model/json_integer.hpp"
#include "model/text.hpp"

namespace mf::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kDefaultLimit = 50;
constexpr std::int64_t kMaxLimit = 500;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        unsigned n = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                     (unsigned char)bytes[i + 2];
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i < bytes.size()) {
        unsigned n = (unsigned char)bytes[i] << 16;
        if (i + 1 < bytes.size()) n |= (unsigned char)bytes[i + 1] << 8;
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        // A '+' that went through form decoding arrives as a space.
        if (c == ' ') c = '+';
        const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
        if (!at) return std::nullopt;
        buffer = buffer << 6 | static_cast<unsigned>(at - kAlphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

const char* id_key(CursorFamily family) {
    switch (family) {
        case CursorFamily::flows:
            return "flow_id";
        case CursorFamily::runs:
            return "run_number";
        case CursorFamily::metadata:
            return "id";
        case CursorFamily::tasks:
        case CursorFamily::artifacts:
            break;
    }
    return "task_id";
}

Error invalid_cursor() {
    return Error::invalid("Invalid cursor");
}

}  // namespace

Result<std::optional<Paging>> read_paging(const http::Request& request, CursorFamily family,
                                          bool filtered) {
    const auto* limit = request.query_value("_limit");
    const auto* cursor = request.query_value("_cursor");
    if (!limit && !cursor && !filtered) return std::optional<Paging>();
    Paging paging;
    paging.limit = kDefaultLimit;
    if (limit && !limit->empty()) {
        const auto n = parse_number<std::int64_t>(*limit);
        if (!n || *n < 0) return Error::invalid("_limit must be a non-negative integer");
        paging.limit = std::min(*n, kMaxLimit);
    }
    if (cursor && !cursor->empty()) {
        auto key = decode_cursor(family, *cursor);
        if (!key) return key.take_error();
        paging.after = std::move(*key);
    }
    return std::optional<Paging>(std::move(paging));
}

std::string encode_cursor(CursorFamily family, const CursorKey& key) {
    // The reference's json.dumps layout, so cursors are interchangeable with its own.
    std::string text =
        "{\"ts_epoch\": " + std::to_string(key.ts_epoch) + ", \"" + id_key(family) + "\": ";
    if (family == CursorFamily::flows) {
        text += json_string(key.name);
    } else {
        text += std::to_string(key.id);
    }
    if (family == CursorFamily::artifacts) text += ", \"name\": " + json_string(key.name);
    text += "}";
    return base64_encode(text);
}

Result<CursorKey> decode_cursor(CursorFamily family, std::string_view cursor) {
    auto bytes = base64_decode(cursor);
    if (!bytes) return invalid_cursor();
    boost::system::error_code ec;
    auto value = json::parse(*bytes, ec);
    if (ec || !value.is_object()) return invalid_cursor();
    const auto& object = value.as_object();
    CursorKey key;
    const auto* ts = object.if_contains("ts_epoch");
    const auto* id = object.if_contains(id_key(family));
    if (!ts || !id) return invalid_cursor();
    auto ts_value = json_integer(*ts);
    if (!ts_value) return invalid_cursor();
    key.ts_epoch = *ts_value;
    if (family == CursorFamily::flows) {
        if (!id->is_string()) return invalid_cursor();
        key.name = std::string(id->as_string());
    } else {
        auto id_value = json_integer(*id);
        if (!id_value) return invalid_cursor();
        key.id = *id_value;
    }
    if (family == CursorFamily::artifacts) {
        const auto* name = object.if_contains("name");
        if (!name || !name->is_string()) return invalid_cursor();
        key.name = std::string(name->as_string());
    }
    return key;
}

CursorKey cursor_key(const Flow& flow) {
    return {flow.ts_epoch, 0, flow.flow_id};
}
CursorKey cursor_key(const Run& run) {
    return {run.ts_epoch, run.run_number, {}};
}
CursorKey cursor_key(const Task& task) {
    return {task.ts_epoch, task.task_id, {}};
}
CursorKey cursor_key(const Metadata& record) {
    return {record.ts_epoch, record.id, {}};
}
CursorKey cursor_key(const Artifact& artifact) {
    return {artifact.ts_epoch, artifact.task_id, artifact.name};
}

}  // namespace mf::api
