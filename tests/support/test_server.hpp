#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "http/message.hpp"
#include "model/clock.hpp"

namespace mf::testing {

struct HttpResponse {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names lower-cased

    boost::json::value json() const;  // fails the test if the body is not JSON
    bool has_header(const std::string& lower_case_name) const;
    std::string header(const std::string& lower_case_name) const;
};

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view text);

// A keep-alive HTTP/1.1 connection to 127.0.0.1:port.
class HttpClient {
public:
    explicit HttpClient(std::uint16_t port);
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;

    HttpResponse request(std::string_view method, std::string_view target,
                         std::string_view body = {}, const http::Fields& headers = {});
    HttpResponse get(std::string_view target) { return request("GET", target); }
    HttpResponse post(std::string_view target, std::string_view body = "{}") {
        return request("POST", target, body);
    }
    HttpResponse patch(std::string_view target, std::string_view body) {
        return request("PATCH", target, body);
    }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A directory under /tmp removed with everything in it at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct TestServerOptions {
    bool manual_clock = false;  // the test drives time through clock()
    std::string path_prefix;
    std::size_t body_limit = 16 * 1024 * 1024;
    SecurityConfig security;  // ports in it are chosen by the test server when nonzero
    bool ui = false;          // run the UI listener, on a free port
    UiConfig ui_config;       // its options; the port is chosen by the test server
};

// The real service (mf::Service, wired as main() wires it), in this process, on a free
// loopback port over a fresh SQLite file.
class TestServer {
public:
    explicit TestServer(TestServerOptions options = {});
    ~TestServer();

    std::uint16_t port() const;
    std::uint16_t metrics_port() const;
    std::uint16_t migration_port() const;  // 0 unless the store is PostgreSQL
    std::uint16_t tls_port() const;
    std::uint16_t ui_port() const;  // 0 unless started with `ui`
    HttpClient client() const { return HttpClient(port()); }
    HttpClient ui_client() const { return HttpClient(ui_port()); }
    ManualClock& clock();  // only with manual_clock
    std::string database_url() const;
    // Rows in each table of the schema, read straight from the database file.
    std::map<std::string, std::int64_t> row_counts() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mf::testing
