#include "datastore/pickle.hpp"

#include "datastore/utf8.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace mf::datastore {
namespace {

Error unpickling_error(std::string message) {
    return Error::unprocessable(std::move(message)).with_id("UnpicklingError");
}

// Dict keys compare as Python compares them: 1, 1.0 and True are one key. Keys of the kinds
// a pickle of plain data holds get a canonical text; others (objects) compare by identity.
std::optional<std::string> key_identity(const std::vector<PyNode>& nodes, NodeId id, int depth) {
    const PyNode& node = nodes[id];
    switch (node.kind) {
        case PyKind::none:
            return std::string("n");
        case PyKind::boolean:
            return std::string(node.boolean ? "i1" : "i0");
        case PyKind::integer:
            return "i" + std::to_string(node.integer);
        case PyKind::big_integer:
            return "I" + node.text;
        case PyKind::floating: {
            double value = node.floating;
            if (value > -9.2e18 && value < 9.2e18 && value == std::trunc(value)) {
                return "i" + std::to_string(static_cast<std::int64_t>(value));
            }
            std::string bits(sizeof value, '\0');
            std::memcpy(bits.data(), &value, sizeof value);
            return "f" + bits;
        }
        case PyKind::str:
            return "s" + node.text;
        case PyKind::bytes:
            return "b" + node.text;
        case PyKind::tuple: {
            if (depth > 64) return std::nullopt;
            std::string out = "t(";
            for (NodeId item : node.items) {
                auto part = key_identity(nodes, item, depth + 1);
                if (!part) return std::nullopt;
                out += std::to_string(part->size()) + ":" + *part;
            }
            return out + ")";
        }
        default:
            return "#" + std::to_string(id);
    }
}

const char* unhashable_name(PyKind kind) {
    switch (kind) {
        case PyKind::list:
            return "list";
        case PyKind::dict:
            return "dict";
        case PyKind::set:
            return "set";
        default:
            return nullptr;
    }
}

class Unpickler {
public:
    Unpickler(std::string_view input, const PickleLimits& limits)
        : input_(input), limits_(limits) {}

    Result<PyGraph> run() {
        while (true) {
            if (pos_ >= input_.size()) {
                return Error::unprocessable("Ran out of input").with_id("EOFError");
            }
            auto opcode = static_cast<unsigned char>(input_[pos_++]);
            if (opcode == '.') break;
            if (auto failed = step(opcode)) return std::move(*failed);
        }
        if (stack_.empty()) return unpickling_error("unpickling stack underflow");
        PyGraph graph;
        graph.root = stack_.back();
        if (nodes_[graph.root].kind == PyKind::callable) {
            nodes_[graph.root].kind = PyKind::object;
            nodes_[graph.root].text = "type";
        }
        graph.nodes = std::move(nodes_);
        return graph;
    }

private:
    using Failure = std::optional<Error>;

    std::string_view input_;
    const PickleLimits& limits_;
    std::size_t pos_ = 0;
    std::vector<PyNode> nodes_;
    std::vector<NodeId> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, NodeId> memo_;
    std::unordered_map<NodeId, std::unordered_map<std::string, std::size_t>> dict_keys_;

    Failure truncated() { return unpickling_error("pickle data was truncated"); }

    bool take(std::size_t n, std::string_view& out) {
        if (input_.size() - pos_ < n) return false;
        out = input_.substr(pos_, n);
        pos_ += n;
        return true;
    }

    template <class T>
    bool take_le(T& out) {
        std::string_view raw;
        if (!take(sizeof(T), raw)) return false;
        std::make_unsigned_t<T> value = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            value |= static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(raw[i]))
                     << (8 * i);
        }
        out = static_cast<T>(value);
        return true;
    }

    Result<NodeId> add(PyNode node) {
        if (nodes_.size() >= limits_.max_nodes) {
            return unpickling_error("pickle holds more objects than the decoder accepts");
        }
        nodes_.push_back(std::move(node));
        return static_cast<NodeId>(nodes_.size() - 1);
    }

    Failure push_new(PyNode node) {
        auto id = add(std::move(node));
        if (!id) return id.take_error();
        return push(*id);
    }

    Failure push(NodeId id) {
        if (stack_.size() >= limits_.max_stack) {
            return unpickling_error("pickle stack deeper than the decoder accepts");
        }
        stack_.push_back(id);
        return std::nullopt;
    }

    Failure pop(NodeId& out) {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) {
            return unpickling_error("unpickling stack underflow");
        }
        out = stack_.back();
        stack_.pop_back();
        return std::nullopt;
    }

    Failure top(NodeId& out) {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) {
            return unpickling_error("unpickling stack underflow");
        }
        out = stack_.back();
        return std::nullopt;
    }

    // The items pushed since the last MARK, which is dropped.
    Failure pop_mark(std::vector<NodeId>& out) {
        if (marks_.empty()) return unpickling_error("could not find MARK");
        std::size_t start = marks_.back();
        marks_.pop_back();
        out.assign(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
        stack_.resize(start);
        return std::nullopt;
    }

    Failure push_text(PyKind kind, std::string_view text) {
        PyNode node{.kind = kind, .text = std::string(text)};
        return push_new(std::move(node));
    }

    Failure push_unicode(std::string_view text) {
        if (!valid_utf8(text)) {
            return Error::unprocessable("'utf-8' codec can't decode the pickled text")
                .with_id("UnicodeDecodeError");
        }
        return push_text(PyKind::str, text);
    }

    // UTF-8 as Python's 'surrogatepass' handler accepts it (encoded surrogates allowed).
    static bool valid_utf8(std::string_view text) {
        for (std::size_t i = 0; i < text.size();) {
            auto character = next_utf8(text, i);
            if (!character.valid) return false;
            i += character.length;
        }
        return true;
    }

    // LONG1/LONG4: little-endian two's complement; up to 8 bytes is an int64 exactly.
    Failure push_long(std::string_view raw) {
        if (raw.size() > 8) return push_text(PyKind::big_integer, raw);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            value |= static_cast<std::uint64_t>(static_cast<unsigned char>(raw[i])) << (8 * i);
        }
        if (!raw.empty() && raw.size() < 8 && (static_cast<unsigned char>(raw.back()) & 0x80)) {
            value |= ~std::uint64_t{0} << (8 * raw.size());
        }
        return push_new(
            PyNode{.kind = PyKind::integer, .integer = std::bit_cast<std::int64_t>(value)});
    }

    Failure memo_put(std::uint64_t index) {
        NodeId value = 0;
        if (auto failed = top(value)) return failed;
        memo_[index] = value;
        return std::nullopt;
    }

    Failure memo_get(std::uint64_t index) {
        auto found = memo_.find(index);
        if (found == memo_.end()) {
            return Error::unprocessable("Memo value not found at index " + std::to_string(index))
                .with_id("KeyError");
        }
        return push(found->second);
    }

    Failure append_items(NodeId target, const std::vector<NodeId>& items) {
        PyNode& node = nodes_[target];
        if (node.kind == PyKind::list || node.kind == PyKind::object) {
            if (node.kind == PyKind::list)
                node.items.insert(node.items.end(), items.begin(), items.end());
            return std::nullopt;
        }
        return Error::unprocessable("object has no attribute 'append'").with_id("AttributeError");
    }

    Failure set_items(NodeId target, const std::vector<NodeId>& pairs) {
        if (pairs.size() % 2 != 0) return unpickling_error("odd number of items for SETITEMS");
        PyKind kind = nodes_[target].kind;
        if (kind == PyKind::object) return std::nullopt;
        if (kind != PyKind::dict) {
            return Error::unprocessable("object does not support item assignment")
                .with_id("TypeError");
        }
        auto& index = dict_keys_[target];
        for (std::size_t i = 0; i < pairs.size(); i += 2) {
            if (const char* name = unhashable_name(nodes_[pairs[i]].kind)) {
                return Error::unprocessable(std::string("unhashable type: '") + name + "'")
                    .with_id("TypeError");
            }
            auto identity = key_identity(nodes_, pairs[i], 0);
            if (!identity) return unpickling_error("dict key nested too deeply");
            auto [slot, inserted] = index.try_emplace(*identity, nodes_[target].items.size());
            auto& items = nodes_[target].items;
            if (inserted) {
                items.push_back(pairs[i]);
                items.push_back(pairs[i + 1]);
            } else {
                items[slot->second + 1] = pairs[i + 1];
            }
        }
        return std::nullopt;
    }

    // Set members, dropping repeats as a Python set does.
    Failure collect_set(PyNode& node, const std::vector<NodeId>& items) {
        std::unordered_map<std::string, bool> seen;
        for (NodeId item : node.items) {
            auto identity = key_identity(nodes_, item, 0);
            if (identity) seen.emplace(*identity, true);
        }
        for (NodeId item : items) {
            if (const char* name = unhashable_name(nodes_[item].kind)) {
                return Error::unprocessable(std::string("unhashable type: '") + name + "'")
                    .with_id("TypeError");
            }
            auto identity = key_identity(nodes_, item, 0);
            if (!identity) return unpickling_error("set member nested too deeply");
            if (seen.emplace(*identity, true).second) node.items.push_back(item);
        }
        return std::nullopt;
    }

    Failure push_global(std::string module, std::string name) {
        PyNode node{.kind = PyKind::callable, .text = std::move(name), .module = std::move(module)};
        return push_new(std::move(node));
    }

    static bool is_builtin(const PyNode& callable, std::string_view name) {
        return (callable.module == "builtins" || callable.module == "__builtin__") &&
               callable.text == name;
    }

    // REDUCE: calls the few callables that rebuild plain data (sets and bytes in protocol 2,
    // OrderedDict, defaultdict); anything else becomes an object named after its class.
    Failure reduce() {
        NodeId args_id = 0, callable_id = 0;
        if (auto failed = pop(args_id)) return failed;
        if (auto failed = pop(callable_id)) return failed;
        const PyNode& callable = nodes_[callable_id];
        if (callable.kind != PyKind::callable) {
            return Error::unprocessable("'" + std::string(kind_name(callable.kind)) +
                                        "' object is not callable")
                .with_id("TypeError");
        }
        const PyNode& args = nodes_[args_id];
        if (args.kind != PyKind::tuple) {
            return unpickling_error("REDUCE arguments must be a tuple");
        }
        std::vector<NodeId> arg_items = args.items;
        if (is_builtin(callable, "set") || is_builtin(callable, "frozenset")) {
            PyNode result{.kind = callable.text == "set" ? PyKind::set : PyKind::frozenset};
            if (!arg_items.empty()) {
                const PyNode& source = nodes_[arg_items[0]];
                if (source.kind != PyKind::list && source.kind != PyKind::tuple &&
                    source.kind != PyKind::set && source.kind != PyKind::frozenset) {
                    return Error::unprocessable("set argument is not iterable")
                        .with_id("TypeError");
                }
                std::vector<NodeId> members = source.items;
                if (auto failed = collect_set(result, members)) return failed;
            }
            return push_new(std::move(result));
        }
        if (callable.module == "_codecs" && callable.text == "encode" && arg_items.size() == 2 &&
            nodes_[arg_items[0]].kind == PyKind::str) {
            return push_latin1(nodes_[arg_items[0]].text);
        }
        if (callable.module == "collections" &&
            (callable.text == "OrderedDict" || callable.text == "defaultdict")) {
            return push_new(PyNode{.kind = PyKind::dict});
        }
        std::string class_name = callable.text;
        if (callable.module == "copyreg" && callable.text == "_reconstructor" &&
            !arg_items.empty() && nodes_[arg_items[0]].kind == PyKind::callable) {
            class_name = nodes_[arg_items[0]].text;
        }
        PyNode result{.kind = PyKind::object, .text = std::move(class_name)};
        return push_new(std::move(result));
    }

    // `_codecs.encode(text, 'latin1')`: how protocol 2 spells bytes.
    Failure push_latin1(const std::string& text) {
        std::string bytes;
        for (std::size_t i = 0; i < text.size(); ++i) {
            auto c = static_cast<unsigned char>(text[i]);
            if (c < 0x80) {
                bytes.push_back(static_cast<char>(c));
            } else if ((c & 0xe0) == 0xc0 && i + 1 < text.size() && c <= 0xc3) {
                bytes.push_back(static_cast<char>(((c & 0x1f) << 6) |
                                                  (static_cast<unsigned char>(text[++i]) & 0x3f)));
            } else {
                return Error::unprocessable("'latin-1' codec can't encode the pickled text")
                    .with_id("UnicodeEncodeError");
            }
        }
        return push_text(PyKind::bytes, bytes);
    }

    static const char* kind_name(PyKind kind) {
        switch (kind) {
            case PyKind::none:
                return "NoneType";
            case PyKind::boolean:
                return "bool";
            case PyKind::integer:
            case PyKind::big_integer:
                return "int";
            case PyKind::floating:
                return "float";
            case PyKind::str:
                return "str";
            case PyKind::bytes:
                return "bytes";
            case PyKind::list:
                return "list";
            case PyKind::tuple:
                return "tuple";
            case PyKind::dict:
                return "dict";
            case PyKind::set:
                return "set";
            case PyKind::frozenset:
                return "frozenset";
            default:
                return "object";
        }
    }

    Failure new_object(NodeId class_id, NodeId args_id) {
        const PyNode& cls = nodes_[class_id];
        if (cls.kind != PyKind::callable) {
            return unpickling_error("NEWOBJ class argument isn't a type object");
        }
        if (is_builtin(cls, "set") || is_builtin(cls, "frozenset")) {
            return push_new(PyNode{.kind = cls.text == "set" ? PyKind::set : PyKind::frozenset});
        }
        // A class built from arguments and given no state afterwards is a tuple subclass
        // (a namedtuple such as Metaflow's ForeachFrame); BUILD turns it into an object.
        const PyNode& args = nodes_[args_id];
        if (args.kind == PyKind::tuple && !args.items.empty()) {
            return push_new(PyNode{.kind = PyKind::tuple, .text = cls.text, .items = args.items});
        }
        PyNode result{.kind = PyKind::object, .text = cls.text};
        return push_new(std::move(result));
    }

    Failure make_tuple(std::vector<NodeId> items) {
        return push_new(PyNode{.kind = PyKind::tuple, .items = std::move(items)});
    }

    Failure step(unsigned char opcode) {
        std::string_view raw;
        switch (opcode) {
            case 0x80: {  // PROTO
                if (!take(1, raw)) return truncated();
                auto protocol = static_cast<unsigned char>(raw[0]);
                if (protocol > 5) {
                    return Error::unprocessable("unsupported pickle protocol: " +
                                                std::to_string(protocol))
                        .with_id("ValueError");
                }
                return std::nullopt;
            }
            case 0x95: {  // FRAME: a length hint only
                std::uint64_t length;
                if (!take_le(length)) return truncated();
                return std::nullopt;
            }
            case '(':
                marks_.push_back(stack_.size());
                return std::nullopt;
            case '0': {  // POP
                if (!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back())) {
                    stack_.pop_back();
                    return std::nullopt;
                }
                std::vector<NodeId> dropped;
                return pop_mark(dropped);
            }
            case '1': {  // POP_MARK
                std::vector<NodeId> dropped;
                return pop_mark(dropped);
            }
            case '2': {  // DUP
                NodeId value = 0;
                if (auto failed = top(value)) return failed;
                return push(value);
            }
            case 'N':
                return push_new(PyNode{.kind = PyKind::none});
            case 0x88:
            case 0x89:
                return push_new(PyNode{.kind = PyKind::boolean, .boolean = opcode == 0x88});
            case 'J': {
                std::int32_t value;
                if (!take_le(value)) return truncated();
                return push_new(PyNode{.kind = PyKind::integer, .integer = value});
            }
            case 'K': {
                std::uint8_t value;
                if (!take_le(value)) return truncated();
                return push_new(PyNode{.kind = PyKind::integer, .integer = value});
            }
            case 'M': {
                std::uint16_t value;
                if (!take_le(value)) return truncated();
                return push_new(PyNode{.kind = PyKind::integer, .integer = value});
            }
            case 0x8a: {  // LONG1
                std::uint8_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_long(raw);
            }
            case 0x8b: {  // LONG4
                std::int32_t length;
                if (!take_le(length)) return truncated();
                if (length < 0) return unpickling_error("LONG pickle has negative byte count");
                if (!take(static_cast<std::size_t>(length), raw)) return truncated();
                return push_long(raw);
            }
            case 'G': {  // BINFLOAT, big-endian
                if (!take(8, raw)) return truncated();
                std::uint64_t bits = 0;
                for (char c : raw) bits = (bits << 8) | static_cast<unsigned char>(c);
                return push_new(
                    PyNode{.kind = PyKind::floating, .floating = std::bit_cast<double>(bits)});
            }
            case 'T': {  // BINSTRING: Python 2 str, read as ASCII
                std::int32_t length;
                if (!take_le(length)) return truncated();
                if (length < 0) return unpickling_error("BINSTRING pickle has negative byte count");
                if (!take(static_cast<std::size_t>(length), raw)) return truncated();
                return push_ascii(raw);
            }
            case 'U': {
                std::uint8_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_ascii(raw);
            }
            case 'X': {
                std::uint32_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_unicode(raw);
            }
            case 0x8c: {
                std::uint8_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_unicode(raw);
            }
            case 0x8d: {
                std::uint64_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_unicode(raw);
            }
            case 'B': {
                std::uint32_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_text(PyKind::bytes, raw);
            }
            case 'C': {
                std::uint8_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_text(PyKind::bytes, raw);
            }
            case 0x8e: {
                std::uint64_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_text(PyKind::bytes, raw);
            }
            case 0x96: {  // BYTEARRAY8
                std::uint64_t length;
                if (!take_le(length) || !take(length, raw)) return truncated();
                return push_new(PyNode{.kind = PyKind::object, .text = "bytearray"});
            }
            case ']':
                return push_new(PyNode{.kind = PyKind::list});
            case ')':
                return make_tuple({});
            case '}':
                return push_new(PyNode{.kind = PyKind::dict});
            case 0x8f:
                return push_new(PyNode{.kind = PyKind::set});
            case 'l': {
                std::vector<NodeId> items;
                if (auto failed = pop_mark(items)) return failed;
                return push_new(PyNode{.kind = PyKind::list, .items = std::move(items)});
            }
            case 't': {
                std::vector<NodeId> items;
                if (auto failed = pop_mark(items)) return failed;
                return make_tuple(std::move(items));
            }
            case 0x85:
            case 0x86:
            case 0x87: {
                std::size_t count = opcode - 0x84u;
                std::vector<NodeId> items(count);
                for (std::size_t i = count; i-- > 0;) {
                    if (auto failed = pop(items[i])) return failed;
                }
                return make_tuple(std::move(items));
            }
            case 'd': {
                std::vector<NodeId> pairs;
                if (auto failed = pop_mark(pairs)) return failed;
                auto id = add(PyNode{.kind = PyKind::dict});
                if (!id) return id.take_error();
                if (auto failed = set_items(*id, pairs)) return failed;
                return push(*id);
            }
            case 0x91: {  // FROZENSET
                std::vector<NodeId> items;
                if (auto failed = pop_mark(items)) return failed;
                PyNode node{.kind = PyKind::frozenset};
                if (auto failed = collect_set(node, items)) return failed;
                return push_new(std::move(node));
            }
            case 'a': {
                NodeId value = 0, target = 0;
                if (auto failed = pop(value)) return failed;
                if (auto failed = top(target)) return failed;
                return append_items(target, {value});
            }
            case 'e': {
                std::vector<NodeId> items;
                if (auto failed = pop_mark(items)) return failed;
                NodeId target = 0;
                if (auto failed = top(target)) return failed;
                return append_items(target, items);
            }
            case 's': {
                NodeId key = 0, value = 0, target = 0;
                if (auto failed = pop(value)) return failed;
                if (auto failed = pop(key)) return failed;
                if (auto failed = top(target)) return failed;
                return set_items(target, {key, value});
            }
            case 'u': {
                std::vector<NodeId> pairs;
                if (auto failed = pop_mark(pairs)) return failed;
                NodeId target = 0;
                if (auto failed = top(target)) return failed;
                return set_items(target, pairs);
            }
            case 0x90: {  // ADDITEMS
                std::vector<NodeId> items;
                if (auto failed = pop_mark(items)) return failed;
                NodeId target = 0;
                if (auto failed = top(target)) return failed;
                if (nodes_[target].kind != PyKind::set) {
                    return Error::unprocessable("object has no attribute 'add'")
                        .with_id("AttributeError");
                }
                PyNode& node = nodes_[target];
                return collect_set(node, items);
            }
            case 'q': {
                std::uint8_t index;
                if (!take_le(index)) return truncated();
                return memo_put(index);
            }
            case 'r': {
                std::uint32_t index;
                if (!take_le(index)) return truncated();
                return memo_put(index);
            }
            case 0x94:  // MEMOIZE
                return memo_put(memo_.size());
            case 'h': {
                std::uint8_t index;
                if (!take_le(index)) return truncated();
                return memo_get(index);
            }
            case 'j': {
                std::uint32_t index;
                if (!take_le(index)) return truncated();
                return memo_get(index);
            }
            case 'c': {  // GLOBAL "module\nname\n"
                std::string module, name;
                if (!take_line(module) || !take_line(name)) return truncated();
                return push_global(std::move(module), std::move(name));
            }
            case 0x93: {  // STACK_GLOBAL
                NodeId name = 0, module = 0;
                if (auto failed = pop(name)) return failed;
                if (auto failed = pop(module)) return failed;
                if (nodes_[name].kind != PyKind::str || nodes_[module].kind != PyKind::str) {
                    return unpickling_error("STACK_GLOBAL requires str");
                }
                return push_global(nodes_[module].text, nodes_[name].text);
            }
            case 'R':
                return reduce();
            case 0x81: {  // NEWOBJ
                NodeId args = 0, cls = 0;
                if (auto failed = pop(args)) return failed;
                if (auto failed = pop(cls)) return failed;
                return new_object(cls, args);
            }
            case 0x92: {  // NEWOBJ_EX
                NodeId kwargs = 0, args = 0, cls = 0;
                if (auto failed = pop(kwargs)) return failed;
                if (auto failed = pop(args)) return failed;
                if (auto failed = pop(cls)) return failed;
                return new_object(cls, args);
            }
            case 'b': {  // BUILD: an object's state; plain values have none to take
                NodeId state = 0, target = 0;
                if (auto failed = pop(state)) return failed;
                if (auto failed = top(target)) return failed;
                PyNode& built = nodes_[target];
                if (built.kind == PyKind::tuple && !built.text.empty()) built.kind = PyKind::object;
                return std::nullopt;
            }
            case 0x82:
            case 0x83:
            case 0x84: {
                std::size_t width = opcode == 0x82 ? 1 : opcode == 0x83 ? 2 : 4;
                if (!take(width, raw)) return truncated();
                return Error::unprocessable("unregistered extension code").with_id("ValueError");
            }
            case 0x97:
            case 0x98:
                return unpickling_error(
                    "pickle stream refers to out-of-band data but no *buffers* argument was given");
            case 'P':
            case 'Q':
                return unpickling_error(
                    "A load persistent id instruction was encountered, but no persistent_load "
                    "function was specified.");
            default: {
                static constexpr char hex[] = "0123456789abcdef";
                std::string shown = "\\x";
                shown += hex[opcode >> 4];
                shown += hex[opcode & 15];
                return unpickling_error("invalid load key, '" + shown + "'.");
            }
        }
    }

    bool take_line(std::string& out) {
        auto end = input_.find('\n', pos_);
        if (end == std::string_view::npos) return false;
        out.assign(input_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return true;
    }

    Failure push_ascii(std::string_view raw) {
        for (char c : raw) {
            if (static_cast<unsigned char>(c) >= 0x80) {
                return Error::unprocessable("'ascii' codec can't decode the pickled string")
                    .with_id("UnicodeDecodeError");
            }
        }
        return push_text(PyKind::str, raw);
    }
};

}  // namespace

Result<PyGraph> unpickle(std::string_view bytes, const PickleLimits& limits) {
    return Unpickler(bytes, limits).run();
}

}  // namespace mf::datastore
