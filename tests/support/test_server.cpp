#include "support/test_server.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "app/service.hpp"
#include "support/process.hpp"
#include "support/test_database.hpp"

namespace mf::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string url_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

boost::json::value HttpResponse::json() const {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << body;
    return value;
}

bool HttpResponse::has_header(const std::string& name) const {
    return headers.count(name) > 0;
}

std::string HttpResponse::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    std::uint16_t port;

    void connect() {
        stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
};

HttpClient::HttpClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
    impl_->port = port;
    impl_->connect();
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view body, const http::Fields& headers) {
    bhttp::request<bhttp::string_body> message{bhttp::string_to_verb(method), target, 11};
    message.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) message.set(name, value);
    if (!body.empty() || method == "POST" || method == "PATCH") {
        message.body() = std::string(body);
        message.set(bhttp::field::content_type, "application/json");
    }
    message.prepare_payload();
    for (int attempt = 0;; ++attempt) {
        boost::system::error_code ec;
        bhttp::write(impl_->stream, message, ec);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(1024 * 1024 * 1024);
        if (!ec) bhttp::read(impl_->stream, impl_->buffer, parser, ec);
        if (ec) {
            // The server closed the kept-alive connection (e.g. after an error reply).
            if (attempt > 0) throw std::runtime_error("HTTP request failed: " + ec.message());
            impl_->stream.close();
            impl_->buffer.clear();
            impl_->connect();
            continue;
        }
        auto& response = parser.get();
        HttpResponse result;
        result.status = response.result_int();
        result.body = std::move(response.body());
        for (const auto& field : response) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            result.headers[name] = std::string(field.value());
        }
        if (!response.keep_alive()) {
            impl_->stream.close();
            impl_->buffer.clear();
            impl_->connect();
        }
        return result;
    }
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mf-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

struct TestServer::Impl {
    TempDir dir;
    std::unique_ptr<TestDatabase> database;  // outlives the service that uses it
    std::string url;
    std::unique_ptr<Clock> clock;
    std::unique_ptr<Service> service;
};

TestServer::TestServer(TestServerOptions options) : impl_(std::make_unique<Impl>()) {
    auto& impl = *impl_;
    impl.database = std::make_unique<TestDatabase>(impl.dir.path());
    impl.url = impl.database->url();
    if (options.manual_clock) {
        impl.clock = std::make_unique<ManualClock>(1'700'000'000'000);
    } else {
        impl.clock = std::make_unique<SystemClock>();
    }
    ServeConfig config;
    config.database = impl.url;
    config.path_prefix = options.path_prefix;
    config.server.host = "127.0.0.1";
    config.server.port = 0;
    config.migration_port = 0;
    config.server.threads = 2;
    config.server.body_limit = options.body_limit;
    config.security = options.security;
    config.ui = options.ui_config;
    // A zero port turns these listeners off, so they get ports picked here; another test
    // running at the same time can take one before the service binds it, hence the retries.
    for (int attempt = 1;; ++attempt) {
        if (config.security.metrics_port) config.security.metrics_port = free_port();
        if (config.security.tls_port) config.security.tls_port = free_port();
        config.ui.port = options.ui ? free_port() : 0;
        try {
            impl.service = std::make_unique<Service>(config, *impl.clock);
            impl.service->start();
            return;
        } catch (const boost::system::system_error& e) {
            impl.service.reset();
            if (e.code() != boost::asio::error::address_in_use || attempt == 5) throw;
        }
    }
}

TestServer::~TestServer() {
    impl_->service->stop();
    impl_->service.reset();
}

std::uint16_t TestServer::port() const {
    return impl_->service->api_port();
}

std::uint16_t TestServer::ui_port() const {
    return impl_->service->ui_port();
}

std::uint16_t TestServer::tls_port() const {
    return impl_->service->tls_port();
}

std::uint16_t TestServer::migration_port() const {
    return impl_->service->migration_port();
}

std::uint16_t TestServer::metrics_port() const {
    return impl_->service->metrics_port();
}

ManualClock& TestServer::clock() {
    auto* manual = dynamic_cast<ManualClock*>(impl_->clock.get());
    if (!manual) throw std::logic_error("TestServer was started without manual_clock");
    return *manual;
}

std::string TestServer::database_url() const {
    return impl_->url;
}

std::map<std::string, std::int64_t> TestServer::row_counts() const {
    return impl_->database->row_counts();
}

}  // namespace mf::testing
