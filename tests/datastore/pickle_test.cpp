#include "datastore/pickle.hpp"

#include <gtest/gtest.h>

#include <zlib.h>

#include "datastore/gzip.hpp"
#include "datastore/value_render.hpp"

namespace mf::datastore {
namespace {

using namespace std::string_literals;

// What the reference UI shows for a pickle, or "<id>: <message>" when it shows an error.
std::string shown(const std::string& pickle) {
    auto value = unpickle(pickle);
    if (!value) return value.error().id + ": " + value.error().message;
    auto text = python_str_via_json(*value);
    if (!text) return text.error().id + ": " + text.error().message;
    return *text;
}

TEST(Unpickle, ProtocolTwoSetsAndBytesAreValuesJsonCannotHold) {
    // Protocol 2 spells a set as builtins.set([...]) and bytes as _codecs.encode(str, 'latin1').
    EXPECT_EQ(shown("\x80\x02"
                    "c__builtin__\nset\nq\x00]q\x01(K\x01K\x02K\x01"
                    "e\x85q\x02Rq\x03."s),
              "TypeError: Object of type set is not JSON serializable");
    auto set = unpickle(
        "\x80\x02"
        "c__builtin__\nset\n]K\x01"
        "aK\x01"
        "a\x85R."s);
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set->root_node().kind, PyKind::set);
    EXPECT_EQ(set->root_node().items.size(), 1u);  // repeats dropped
    auto bytes = unpickle(
        "\x80\x02"
        "c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xa9X\x06\x00\x00\x00latin1\x86R."s);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    EXPECT_EQ(bytes->root_node().kind, PyKind::bytes);
    EXPECT_EQ(bytes->root_node().text, "\xe9"s);
    EXPECT_EQ(shown("\x80\x03"
                    "C\x03"
                    "abc."s),
              "TypeError: Object of type bytes is not JSON serializable");
    EXPECT_EQ(shown("\x80\x04(K\x01K\x02\x91."s),
              "TypeError: Object of type frozenset is not JSON serializable");
    EXPECT_EQ(shown("\x80\x04\x8f(K\x01\x90."s),
              "TypeError: Object of type set is not JSON serializable");
}

TEST(Unpickle, ScalarsShowAsPythonStrAfterJson) {
    EXPECT_EQ(shown("\x80\x04N."s), "None");
    EXPECT_EQ(shown("\x80\x04\x88."s), "True");
    EXPECT_EQ(shown("\x80\x04J\xff\xff\xff\xff."s), "-1");
    EXPECT_EQ(shown("\x80\x04M\x01\x01."s), "257");
    // LONG1 of 2**64 and of -2**64, beyond 64 bits.
    EXPECT_EQ(shown("\x80\x04\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."s),
              "18446744073709551616");
    EXPECT_EQ(shown("\x80\x04\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xff."s),
              "-18446744073709551616");
    EXPECT_EQ(shown("\x80\x04\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f."s), "9223372036854775807");
    EXPECT_EQ(shown("\x80\x04\x8a\x00."s), "0");
    EXPECT_EQ(shown("\x80\x04G?\xe0\x00\x00\x00\x00\x00\x00."s), "0.5");
    EXPECT_EQ(shown("\x80\x04\x8c\x05start."s), "start");  // a str is shown without quotes
}

TEST(Unpickle, FloatsUsePythonRepr) {
    EXPECT_EQ(python_float_repr(123.0), "123.0");
    EXPECT_EQ(python_float_repr(0.1), "0.1");
    EXPECT_EQ(python_float_repr(1e16), "1e+16");
    EXPECT_EQ(python_float_repr(1.5e16), "1.5e+16");
    EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(python_float_repr(0.0001), "0.0001");
    EXPECT_EQ(python_float_repr(1e-05), "1e-05");
    EXPECT_EQ(python_float_repr(-0.0), "-0.0");
    EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
    EXPECT_EQ(python_float_repr(1.0 / 0.0), "inf");
}

TEST(Unpickle, StringsInsideContainersUsePythonRepr) {
    EXPECT_EQ(python_str_repr("it's"), "\"it's\"");
    EXPECT_EQ(python_str_repr("say \"hi\" it's"), "'say \"hi\" it\\'s'");
    EXPECT_EQ(python_str_repr("a\nb\tc\\"), "'a\\nb\\tc\\\\'");
    EXPECT_EQ(python_str_repr("\x01\x7f"), "'\\x01\\x7f'");
    EXPECT_EQ(python_str_repr("\xc3\xa9\xe2\x82\xac"), "'\xc3\xa9\xe2\x82\xac'");  // é€ print as is
    EXPECT_EQ(python_str_repr("\xc2\xa0\xe2\x80\xa8"), "'\\xa0\\u2028'");
}

TEST(Unpickle, JsonRoundTripTurnsTuplesIntoListsAndKeysIntoStrings) {
    EXPECT_EQ(shown("\x80\x04K\x01K\x02\x86."s), "[1, 2]");
    // {1: 'a', '1': 'b'}: both keys become "1"; json.loads keeps the last value.
    EXPECT_EQ(shown("\x80\x04}(K\x01\x8c\x01"
                    "a\x8c\x01"
                    "1\x8c\x01"
                    "bu."s),
              "{'1': 'b'}");
    // {True: 1, None: 2, 1.5: 3}
    EXPECT_EQ(shown("\x80\x04}(\x88K\x01NK\x02G?\xf8\x00\x00\x00\x00\x00\x00K\x03u."s),
              "{'true': 1, 'null': 2, '1.5': 3}");
    // {(1, 2): 3}
    EXPECT_EQ(shown("\x80\x04}K\x01K\x02\x86K\x03s."s),
              "TypeError: keys must be str, int, float, bool or None, not tuple");
    // Python's dict: 1 and True are one key, the first key stays, the last value wins.
    EXPECT_EQ(shown("\x80\x04}(K\x01K\x0a\x88K\x14u."s), "{'1': 20}");
}

TEST(Unpickle, NamedTuplesAreTuplesAndOtherObjectsAreNamed) {
    // Metaflow's ForeachFrame, a namedtuple pickled with NEWOBJ and no state.
    EXPECT_EQ(shown("\x80\x04]\x8c\x08__main__\x8c\x0c"
                    "ForeachFrame\x93(\x8c\x04"
                    "bodyK\x14K\x07t\x81"
                    "a."s),
              "[['body', 20, 7]]");
    // An object with state (BUILD) is not a tuple.
    EXPECT_EQ(shown("\x80\x04\x8c\x08"
                    "datetime\x8c\x08"
                    "datetime\x93)\x81}b."s),
              "TypeError: Object of type datetime is not JSON serializable");
    EXPECT_EQ(shown("\x80\x02"
                    "cdatetime\ndate\nC\x04\x07\xea\x0c\x05\x85R."s),
              "TypeError: Object of type date is not JSON serializable");
    EXPECT_EQ(shown("\x80\x02"
                    "ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00kK\x01u."s),
              "{'k': 1}");
}

TEST(Unpickle, MalformedInputIsAnErrorNeverACrash) {
    EXPECT_EQ(shown("\x80\x04\x8c\x05"
                    "ab"s),
              "UnpicklingError: pickle data was truncated");
    EXPECT_EQ(shown("\x80\x04\xff."s), "UnpicklingError: invalid load key, '\\xff'.");
    EXPECT_EQ(shown(""s), "EOFError: Ran out of input");
    EXPECT_EQ(shown("\x80\x04."s), "UnpicklingError: unpickling stack underflow");
    EXPECT_EQ(shown("\x80\x04h\x05."s), "KeyError: Memo value not found at index 5");
    EXPECT_EQ(shown("\x80\x04K\x01"
                    "a."s),
              "UnpicklingError: unpickling stack underflow");
    EXPECT_EQ(shown("\x80\x04]]s."s).substr(0, 10), "Unpickling");
    EXPECT_EQ(shown("\x80\x04}]K\x01s."s), "TypeError: unhashable type: 'list'");
    EXPECT_EQ(shown("\x80\x04Q."s).substr(0, 17), "UnpicklingError: ");
    EXPECT_EQ(shown("\x80\x06N."s), "ValueError: unsupported pickle protocol: 6");
    EXPECT_EQ(shown("\x80\x04X\x02\x00\x00\x00\xff\xfe."s).substr(0, 18), "UnicodeDecodeError");
}

TEST(Unpickle, CyclesDepthAndSharingAreBounded) {
    // A list that holds itself.
    EXPECT_EQ(shown("\x80\x04]\x94h\x00"
                    "a."s),
              "ValueError: Circular reference detected");
    // 2,000 nested lists.
    std::string deep = "\x80\x04"s + std::string(2000, ']') + std::string(1999, 'a') + ".";
    EXPECT_EQ(shown(deep),
              "RecursionError: maximum recursion depth exceeded while encoding a JSON object");
    // 64 levels of a list holding the level below twice: 2**64 leaves from 1 KB of pickle.
    std::string shared = "\x80\x04]\x94";
    for (int level = 0; level < 64; ++level) {
        shared += "]h"s + static_cast<char>(level) + "ah"s + static_cast<char>(level) + "a\x94";
    }
    shared += ".";
    EXPECT_EQ(shown(shared), "artifact-too-large: the value is too large to show");
    PickleLimits small{.max_nodes = 10};
    auto many = unpickle("\x80\x04" + std::string(20, 'N') + ".", small);
    ASSERT_FALSE(many.ok());
    EXPECT_EQ(many.error().id, "UnpicklingError");
}

TEST(Unpickle, BigIntegersFollowPythonsDigitLimit) {
    std::string huge =
        "\x80\x04\x8b"s + std::string("\x10\x27\x00\x00", 4) + std::string(9999, '\x01') + "\x01.";
    EXPECT_EQ(shown(huge).substr(0, 34), "ValueError: Exceeds the limit (430");
}

std::string gzip_of(const std::string& data) {
    z_stream stream{};
    deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(data.size() + 128, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

TEST(Gunzip, ReadsEveryMemberAndBoundsTheOutput) {
    std::string text(10000, 'x');
    auto one = gunzip(gzip_of(text), 1 << 20);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(*one, text);
    auto two = gunzip(gzip_of("ab") + gzip_of("cd"), 100);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(*two, "abcd");
    auto bounded = gunzip(gzip_of(text), 9999);
    ASSERT_FALSE(bounded.ok());
    EXPECT_EQ(bounded.error().id, "artifact-too-large");
    auto truncated = gunzip(gzip_of(text).substr(0, 12), 1 << 20);
    ASSERT_FALSE(truncated.ok());
    EXPECT_EQ(truncated.error().id, "EOFError");
    auto plain = gunzip("not gzip", 100);
    ASSERT_FALSE(plain.ok());
    EXPECT_EQ(plain.error().id, "BadGzipFile");
}

}  // namespace
}  // namespace mf::datastore
