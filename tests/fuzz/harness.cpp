#include "harness.hpp"

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "api/context.hpp"
#include "api/routes.hpp"
#include "http/pipeline.hpp"
#include "model/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace mf::fuzz {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

[[noreturn]] void violated(const http::Request& request, const http::Reply& reply,
                           const char* rule) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s\n  %s %s\n  -> %u %s\n", rule,
                 request.method.c_str(), request.target.c_str(), reply.status,
                 reply.body.substr(0, 500).c_str());
    std::abort();
}

}  // namespace

void check_reply(const http::Request& request, const http::Reply& reply) {
    if (reply.status < 100 || reply.status > 599) violated(request, reply, "status out of range");
    if (reply.status == 500) violated(request, reply, "500: a handler failed on client input");
    if (reply.status >= 400 && !request.route.empty()) {
        boost::system::error_code ec;
        json::parse(reply.body, ec);
        if (ec) violated(request, reply, "error body of a JSON route is not JSON");
    }
}

struct Harness::Impl {
    std::filesystem::path dir;
    ManualClock clock{1'795'608'000'000};
    std::unique_ptr<Store> store;
    std::unique_ptr<api::Context> context;
    http::Router router;
    std::unique_ptr<http::Pipeline> pipeline;
    asio::io_context io{1};
    asio::ip::address peer = asio::ip::make_address("127.0.0.1");

    http::Reply run(http::Request& request) {
        std::optional<http::Reply> reply;
        std::exception_ptr failure;
        asio::co_spawn(io, pipeline->handle(request, peer),
                       [&](std::exception_ptr e, http::Reply r) {
                           failure = e;
                           reply = std::move(r);
                       });
        io.restart();
        io.run();
        if (failure) std::rethrow_exception(failure);
        if (!reply) {
            std::fprintf(stderr, "the pipeline did not complete\n");
            std::abort();
        }
        return std::move(*reply);
    }

    // Sends every request of the conformance trace, in order, as the replay test does.
    void replay_trace() {
        std::ifstream in(MF_TEST_FIXTURES "/reference-trace.jsonl");
        if (!in) throw std::runtime_error("cannot read the conformance trace");
        std::string line;
        int sent = 0, matched = 0;
        while (std::getline(in, line)) {
            auto row = json::parse(line).as_object();
            http::Request request;
            request.method = json::value_to<std::string>(row.at("method"));
            request.target = json::value_to<std::string>(row.at("path"));
            // The decoded query as the server would pass it on; the target keeps it only
            // for routing (which ignores it) and messages.
            char separator = '?';
            for (const auto& [key, values] : row.at("query").as_object()) {
                for (const auto& value : values.as_array()) {
                    auto text = json::value_to<std::string>(value);
                    request.target += separator + std::string(key) + "=" + text;
                    request.query.emplace_back(key, std::move(text));
                    separator = '&';
                }
            }
            if (const auto* body = row.if_contains("request_json")) {
                request.body = json::serialize(*body);
            }
            clock.set_ms(1'795'608'000'000 + row.at("t_ms").to_number<std::int64_t>());
            auto reply = run(request);
            ++sent;
            matched += reply.status == row.at("status").to_number<unsigned>();
        }
        std::fprintf(stderr,
                     "fuzz harness: replayed %d trace requests, %d with the reference's status\n",
                     sent, matched);
    }
};

Harness::Harness() : impl_(std::make_unique<Impl>()) {
    auto& impl = *impl_;
    spdlog::set_level(spdlog::level::off);
    std::string pattern = (std::filesystem::temp_directory_path() / "mf-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    impl.dir = pattern;
    SqliteOptions options;
    options.path = (impl.dir / "metadata.db").string();
    options.synchronous_full = false;  // speed; durability is not what is fuzzed
    options.clock = &impl.clock;
    impl.store = open_sqlite_store(options);
    impl.context = std::make_unique<api::Context>(api::Context{*impl.store, impl.clock});
    api::add_routes(impl.router, *impl.context);
    impl.pipeline =
        std::make_unique<http::Pipeline>(impl.router, http::AccessPolicy{}, nullptr, "fuzz");
    impl.replay_trace();
}

Harness::~Harness() {
    impl_->pipeline.reset();
    impl_->context.reset();
    impl_->store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(impl_->dir, ignored);
}

Harness& Harness::instance() {
    static Harness harness;
    return harness;
}

http::Reply Harness::handle(http::Request& request) {
    auto reply = impl_->run(request);
    check_reply(request, reply);
    return reply;
}

}  // namespace mf::fuzz
