#include "datastore/value_render.hpp"

#include "datastore/utf8.hpp"
#include "model/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

namespace mf::datastore {
namespace {

constexpr std::size_t max_int_digits = 4300;  // Python's default int-to-str conversion limit

Error type_error(std::string message) {
    return Error::unprocessable(std::move(message)).with_id("TypeError");
}
Error value_error(std::string message) {
    return Error::unprocessable(std::move(message)).with_id("ValueError");
}

Result<std::string> big_integer_decimal(std::string_view twos_complement_le) {
    // About 2.41 decimal digits a byte: past this many bytes Python refuses to convert.
    if (twos_complement_le.size() > 1790) {
        return value_error(
            "Exceeds the limit (4300 digits) for integer string conversion; use "
            "sys.set_int_max_str_digits() to increase the limit");
    }
    std::vector<std::uint8_t> magnitude(twos_complement_le.begin(), twos_complement_le.end());
    bool negative = !magnitude.empty() && (magnitude.back() & 0x80);
    if (negative) {
        unsigned carry = 1;
        for (auto& byte : magnitude) {
            unsigned sum = static_cast<std::uint8_t>(~byte) + carry;
            byte = static_cast<std::uint8_t>(sum);
            carry = sum >> 8;
        }
    }
    std::vector<std::uint32_t> limbs((magnitude.size() + 3) / 4, 0);
    for (std::size_t i = 0; i < magnitude.size(); ++i) {
        limbs[i / 4] |= static_cast<std::uint32_t>(magnitude[i]) << (8 * (i % 4));
    }
    std::string reversed;
    while (std::any_of(limbs.begin(), limbs.end(), [](std::uint32_t limb) { return limb != 0; })) {
        std::uint64_t remainder = 0;
        for (std::size_t i = limbs.size(); i-- > 0;) {
            std::uint64_t current = (remainder << 32) | limbs[i];
            limbs[i] = static_cast<std::uint32_t>(current / 1000000000u);
            remainder = current % 1000000000u;
        }
        for (int k = 0; k < 9; ++k) {
            reversed.push_back(static_cast<char>('0' + remainder % 10));
            remainder /= 10;
        }
    }
    while (reversed.size() > 1 && reversed.back() == '0') reversed.pop_back();
    if (reversed.empty()) reversed = "0";
    if (reversed.size() > max_int_digits) {
        return value_error(
            "Exceeds the limit (4300 digits) for integer string conversion; use "
            "sys.set_int_max_str_digits() to increase the limit");
    }
    if (negative) reversed.push_back('-');
    return std::string(reversed.rbegin(), reversed.rend());
}

const char* type_name(const PyNode& node) {
    switch (node.kind) {
        case PyKind::bytes:
            return "bytes";
        case PyKind::set:
            return "set";
        case PyKind::frozenset:
            return "frozenset";
        case PyKind::tuple:
            return "tuple";
        case PyKind::list:
            return "list";
        case PyKind::dict:
            return "dict";
        case PyKind::callable:
            return "type";
        default:
            return node.text.c_str();
    }
}

// Python's json.dumps turns these dict keys into strings; other keys are a TypeError.
Result<std::string> json_key(const PyNode& key) {
    switch (key.kind) {
        case PyKind::str:
            return key.text;
        case PyKind::boolean:
            return std::string(key.boolean ? "true" : "false");
        case PyKind::none:
            return std::string("null");
        case PyKind::integer:
            return std::to_string(key.integer);
        case PyKind::big_integer:
            return big_integer_decimal(key.text);
        case PyKind::floating:
            if (std::isnan(key.floating)) return std::string("NaN");
            if (std::isinf(key.floating)) {
                return std::string(key.floating > 0 ? "Infinity" : "-Infinity");
            }
            return python_float_repr(key.floating);
        default:
            return type_error(std::string("keys must be str, int, float, bool or None, not ") +
                              type_name(key));
    }
}

// Walks a value as json.dumps encodes it, reporting what it meets to a sink.
template <class Sink>
class JsonWalk {
public:
    JsonWalk(const PyGraph& graph, const RenderLimits& limits, Sink& sink)
        : graph_(graph), limits_(limits), sink_(sink), on_path_(graph.nodes.size(), false) {}

    Status run() { return walk(graph_.root, 0); }

private:
    const PyGraph& graph_;
    const RenderLimits& limits_;
    Sink& sink_;
    std::vector<bool> on_path_;
    std::size_t spent_ = 0;

    Status spend(std::size_t bytes) {
        spent_ += bytes;
        if (spent_ > limits_.max_output_bytes) {
            return Error::unprocessable("the value is too large to show")
                .with_id("artifact-too-large");
        }
        return Ok{};
    }

    Status walk(NodeId id, std::size_t depth) {
        if (depth > limits_.max_depth) {
            return Error::unprocessable(
                       "maximum recursion depth exceeded while encoding a JSON object")
                .with_id("RecursionError");
        }
        const PyNode& node = graph_.at(id);
        switch (node.kind) {
            case PyKind::none:
                sink_.null();
                return spend(4);
            case PyKind::boolean:
                sink_.boolean(node.boolean);
                return spend(5);
            case PyKind::integer:
                sink_.integer(node.integer);
                return spend(20);
            case PyKind::big_integer: {
                auto decimal = big_integer_decimal(node.text);
                if (!decimal) return decimal.take_error();
                sink_.big_integer(*decimal);
                return spend(decimal->size());
            }
            case PyKind::floating:
                sink_.floating(node.floating);
                return spend(24);
            case PyKind::str:
                sink_.string(node.text);
                return spend(node.text.size() + 2);
            case PyKind::list:
            case PyKind::tuple:
                return walk_array(id, node, depth);
            case PyKind::dict:
                return walk_object(id, node, depth);
            default:
                return type_error(std::string("Object of type ") + type_name(node) +
                                  " is not JSON serializable");
        }
    }

    Status enter(NodeId id) {
        if (on_path_[id]) return value_error("Circular reference detected");
        on_path_[id] = true;
        return spend(2);
    }

    Status walk_array(NodeId id, const PyNode& node, std::size_t depth) {
        if (auto entered = enter(id); !entered) return entered;
        sink_.begin_array();
        for (NodeId item : node.items) {
            if (auto walked = walk(item, depth + 1); !walked) return walked;
        }
        sink_.end_array();
        on_path_[id] = false;
        return Ok{};
    }

    // json.loads keeps the first position and the last value of keys that became equal
    // as strings (1 and "1").
    Status walk_object(NodeId id, const PyNode& node, std::size_t depth) {
        if (auto entered = enter(id); !entered) return entered;
        std::unordered_map<std::string, NodeId> last_value;
        for (std::size_t i = 0; i + 1 < node.items.size(); i += 2) {
            auto key = json_key(graph_.at(node.items[i]));
            if (key) last_value[*key] = node.items[i + 1];
        }
        sink_.begin_object();
        for (std::size_t i = 0; i + 1 < node.items.size(); i += 2) {
            auto key = json_key(graph_.at(node.items[i]));
            if (!key) return key.take_error();
            auto found = last_value.find(*key);
            if (found == last_value.end()) continue;
            NodeId value = found->second;
            last_value.erase(found);
            if (auto spent = spend(key->size() + 4); !spent) return spent;
            sink_.key(*key);
            if (auto walked = walk(value, depth + 1); !walked) return walked;
        }
        sink_.end_object();
        on_path_[id] = false;
        return Ok{};
    }
};

// Writes Python's str() of the value json.loads would return.
class PythonStrSink {
public:
    std::string out;

    void null() { scalar("None"); }
    void boolean(bool value) { scalar(value ? "True" : "False"); }
    void integer(std::int64_t value) { scalar(std::to_string(value)); }
    void big_integer(const std::string& decimal) { scalar(decimal); }
    void floating(double value) { scalar(python_float_repr(value)); }
    void string(const std::string& text) {
        if (frames_.empty()) {
            out += text;
        } else {
            prefix();
            out += python_str_repr(text);
        }
    }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void key(const std::string& text) {
        prefix();
        out += python_str_repr(text);
        out += ": ";
        frames_.back().awaiting_value = true;
    }

private:
    struct Frame {
        bool first = true;
        bool awaiting_value = false;
    };
    std::vector<Frame> frames_;

    void prefix() {
        if (frames_.empty()) return;
        Frame& frame = frames_.back();
        if (frame.awaiting_value) {
            frame.awaiting_value = false;
            return;
        }
        if (!frame.first) out += ", ";
        frame.first = false;
    }
    void scalar(const std::string& text) {
        prefix();
        out += text;
    }
    void open(char bracket) {
        prefix();
        out.push_back(bracket);
        frames_.push_back({});
    }
    void close(char bracket) {
        out.push_back(bracket);
        frames_.pop_back();
    }
};

class JsonSink {
public:
    boost::json::value result;

    void null() { put(nullptr); }
    void boolean(bool value) { put(value); }
    void integer(std::int64_t value) { put(value); }
    void big_integer(const std::string& decimal) {
        if (decimal[0] != '-') {
            if (const auto unsigned_value = parse_number<std::uint64_t>(decimal)) {
                put(*unsigned_value);
                return;
            }
        }
        put(std::strtod(decimal.c_str(), nullptr));
    }
    void floating(double value) {
        if (std::isfinite(value)) {
            put(value);
        } else {
            put(nullptr);
        }
    }
    void string(const std::string& text) { put(boost::json::string(text)); }
    void begin_array() { open_.emplace_back(boost::json::array()); }
    void begin_object() { open_.emplace_back(boost::json::object()); }
    void end_array() { close(); }
    void end_object() { close(); }
    void key(const std::string& text) { keys_.push_back(text); }

private:
    std::vector<boost::json::value> open_;
    std::vector<std::string> keys_;

    void put(boost::json::value value) {
        if (open_.empty()) {
            result = std::move(value);
        } else if (open_.back().is_array()) {
            open_.back().as_array().push_back(std::move(value));
        } else {
            open_.back().as_object()[keys_.back()] = std::move(value);
            keys_.pop_back();
        }
    }
    void close() {
        boost::json::value done = std::move(open_.back());
        open_.pop_back();
        put(std::move(done));
    }
};

// Python's str.isprintable() for characters outside ASCII, without Unicode's tables: the
// separators, format and control characters, surrogates and private use areas are not.
bool printable(std::uint32_t code) {
    if (code < 0xa1) return false;
    if (code == 0xad || code == 0x61c || code == 0x6dd || code == 0x70f || code == 0x8e2 ||
        code == 0x180e || code == 0x1680 || code == 0x3000 || code == 0xfeff || code == 0x110bd) {
        return false;
    }
    if ((code >= 0x600 && code <= 0x605) || (code >= 0x2000 && code <= 0x200f) ||
        (code >= 0x2028 && code <= 0x202f) || (code >= 0x205f && code <= 0x206f) ||
        (code >= 0xd800 && code <= 0xf8ff) || (code >= 0xfff9 && code <= 0xfffb) ||
        code == 0xfffe || code == 0xffff || (code >= 0x1bca0 && code <= 0x1bca3) ||
        (code >= 0x1d173 && code <= 0x1d17a) || (code >= 0xe0000 && code <= 0xe0fff) ||
        code >= 0xf0000) {
        return false;
    }
    return true;
}

void append_escape(std::string& out, char kind, std::uint32_t code, int width) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('\\');
    out.push_back(kind);
    for (int shift = (width - 1) * 4; shift >= 0; shift -= 4)
        out.push_back(hex[(code >> shift) & 15]);
}

}  // namespace

std::string python_float_repr(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buffer[64];
    auto written =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    std::string_view shortest(buffer, static_cast<std::size_t>(written.ptr - buffer));
    bool negative = shortest.front() == '-';
    if (negative) shortest.remove_prefix(1);
    auto e = shortest.find('e');
    std::string digits;
    for (char c : shortest.substr(0, e)) {
        if (c != '.') digits.push_back(c);
    }
    int exponent = std::atoi(std::string(shortest.substr(e + 1)).c_str());
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out = negative ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
        } else {
            auto whole = static_cast<std::size_t>(exponent) + 1;
            if (digits.size() < whole) digits.append(whole - digits.size(), '0');
            std::string fraction = digits.substr(whole);
            out += digits.substr(0, whole) + "." + (fraction.empty() ? "0" : fraction);
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    int magnitude = exponent < 0 ? -exponent : exponent;
    out += exponent < 0 ? "e-" : "e+";
    if (magnitude < 10) out.push_back('0');
    out += std::to_string(magnitude);
    return out;
}

std::string python_str_repr(std::string_view utf8) {
    bool has_single = utf8.find('\'') != std::string_view::npos;
    bool has_double = utf8.find('"') != std::string_view::npos;
    char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    std::size_t i = 0;
    while (i < utf8.size()) {
        auto character = next_utf8(utf8, i);
        std::uint32_t code = character.code;
        std::size_t length = character.length;
        if (code == static_cast<unsigned char>(quote) || code == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(code));
        } else if (code == '\t') {
            out += "\\t";
        } else if (code == '\n') {
            out += "\\n";
        } else if (code == '\r') {
            out += "\\r";
        } else if (code < 0x20 || code == 0x7f) {
            append_escape(out, 'x', code, 2);
        } else if (code < 0x80 || printable(code)) {
            out.append(utf8.substr(i, length));
        } else if (code <= 0xff) {
            append_escape(out, 'x', code, 2);
        } else if (code <= 0xffff) {
            append_escape(out, 'u', code, 4);
        } else {
            append_escape(out, 'U', code, 8);
        }
        i += length;
    }
    out.push_back(quote);
    return out;
}

Result<std::string> python_str_via_json(const PyGraph& value, const RenderLimits& limits) {
    PythonStrSink sink;
    if (auto walked = JsonWalk<PythonStrSink>(value, limits, sink).run(); !walked) {
        return Error(walked.error());
    }
    return std::move(sink.out);
}

Result<boost::json::value> to_json(const PyGraph& value, const RenderLimits& limits) {
    JsonSink sink;
    if (auto walked = JsonWalk<JsonSink>(value, limits, sink).run(); !walked) {
        return Error(walked.error());
    }
    return std::move(sink.result);
}

}  // namespace mf::datastore
