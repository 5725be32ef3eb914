#pragma once

// Helpers of the UI listener's tests: a small metaflow-ui-like build on disk, and gunzip.

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/test_server.hpp"

namespace mf::testing::ui {

inline constexpr const char* kIndexHtml =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Metaflow</title>"
    "</head><body><div id=\"root\"></div></body></html>";

// index.html, a script under static/ large enough to compress, and root files.
struct FakeBuild {
    TempDir dir;
    std::string script;

    FakeBuild() {
        for (int i = 0; i < 200; ++i)
            script += "console.log('metaflow ui line " + std::to_string(i) + "');\n";
        std::filesystem::create_directories(dir.path() / "static" / "js");
        write("index.html", kIndexHtml);
        write("static/js/main.1a2b3c.js", script);
        write("manifest.json", R"({"short_name": "Metaflow"})");
        write("favicon.ico", std::string("\0\0\1\0", 4));
    }
    void write(const std::string& name, const std::string& body) {
        std::ofstream(dir.path() / name, std::ios::binary) << body;
    }
    std::string path() const { return dir.path().string(); }
};

// The folder holding `.metaflow`, the datastore real flows wrote for the UI trace.
inline const std::filesystem::path kDatastoreParent =
    std::filesystem::path(MF_TEST_FIXTURES) / "ui-datastore";

// The whole of a fixture file; fails the test when it is missing.
inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    EXPECT_TRUE(file) << "missing fixture " << path;
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

inline std::string gunzip(const std::string& packed) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
    std::string out;
    char buffer[16384];
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    stream.avail_in = static_cast<uInt>(packed.size());
    int result = Z_OK;
    while (result == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        result = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - stream.avail_out);
    }
    inflateEnd(&stream);
    if (result != Z_STREAM_END) throw std::runtime_error("not a whole gzip stream");
    return out;
}

// A server with the UI listener on, serving `build` when given.
inline TestServerOptions ui_options(const FakeBuild* build = nullptr) {
    TestServerOptions options;
    options.ui = true;
    if (build) options.ui_config.static_dir = build->path();
    return options;
}

}  // namespace mf::testing::ui

namespace mf::testing::ui {

// Sets an environment variable for the life of the object (the UI reads its variables
// when the service starts).
class ScopedEnv {
public:
    ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
        setenv(name_.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() { unsetenv(name_.c_str()); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
};

}  // namespace mf::testing::ui
