#include "http/pipeline.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>

#include <openssl/evp.h>

#include "http/problem.hpp"

namespace mf::http {
namespace {

namespace ip = boost::asio::ip;

// What the reference's web framework sends on an unhandled exception (docs/api.md#errors).
Reply framework_error() {
    Reply reply;
    reply.status = 500;
    reply.body = "500 Internal Server Error\n\nServer got itself in trouble";
    reply.version_header = false;
    reply.close_connection = true;
    return reply;
}

Reply refusal(unsigned status, std::string_view title, std::string_view detail) {
    auto reply = problem_reply(status, title, detail);
    reply.version_header = false;
    return reply;
}

// A client's X-Request-Id is kept when it is short and printable, so logs can be joined
// with the caller's; otherwise a new one is made.
std::string request_id(const Request& request) {
    if (const auto* given = request.header("x-request-id")) {
        bool printable = !given->empty() && given->size() <= 128;
        for (char c : *given) printable = printable && c > 32 && c < 127;
        if (printable) return *given;
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(16, '0');
    auto bits = random();
    for (auto& c : id) {
        c = kHex[bits & 15];
        bits >>= 4;
    }
    return id;
}

std::shared_ptr<spdlog::logger> access_log() {
    static auto logger = [] {
        auto created = spdlog::default_logger()->clone("access");
        created->set_pattern("%v");
        return created;
    }();
    return logger;
}

// ISO 8601 in UTC with milliseconds, e.g. 2026-11-25T14:15:02.271Z.
std::string utc_timestamp() {
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::floor<std::chrono::seconds>(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds).count();
    return fmt::format("{:%FT%T}.{:03}Z", seconds, millis);
}

// The password of an `Authorization: Basic` header; nothing for other schemes or bad base64.
std::optional<std::string> basic_password(std::string_view authorization) {
    constexpr std::string_view scheme = "basic ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) {
            return std::nullopt;
        }
    }
    auto encoded = authorization.substr(scheme.size());
    while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
    while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
    if (encoded.empty() || encoded.size() % 4 != 0) return std::nullopt;
    std::string decoded(encoded.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                       reinterpret_cast<const unsigned char*>(encoded.data()),
                                       static_cast<int>(encoded.size()));
    if (length < 0) return std::nullopt;
    // EVP_DecodeBlock counts the bytes the padding stands for.
    std::size_t padding = 0;
    for (auto it = encoded.rbegin(); it != encoded.rend() && *it == '='; ++it) ++padding;
    decoded.resize(static_cast<std::size_t>(length) - padding);
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return decoded.substr(colon + 1);
}

bool is_read(const std::string& method) {
    return method == "GET" || method == "HEAD";
}

// A request as the metrics and the access log see it once its reply is over.
struct Answered {
    std::string id;
    std::string method;
    std::string route;
    unsigned status = 0;
    std::string client;
    std::string key_name;
    std::chrono::steady_clock::time_point started;
    std::size_t bytes = 0;
    bool streamed = false;
};

void record(Metrics* metrics, const std::string& listener, const Answered& answered,
            bool complete) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - answered.started).count();
    if (metrics)
        metrics->request_finished(listener, answered.method, answered.route, answered.status,
                                  seconds);
    auto log = access_log();
    if (!log->should_log(spdlog::level::info)) return;
    boost::json::object line;
    line["time"] = utc_timestamp();
    line["request_id"] = answered.id;
    line["listener"] = listener;
    line["method"] = answered.method;
    line["route"] = answered.route;
    line["status"] = answered.status;
    line["bytes"] = answered.bytes;
    if (answered.streamed) line["streamed"] = true;
    if (!complete) line["cut_short"] = true;
    line["duration_us"] = static_cast<std::int64_t>(seconds * 1e6);
    line["client"] = answered.client;
    if (!answered.key_name.empty()) line["key"] = answered.key_name;
    log->info(boost::json::serialize(line));
}

// The parts of a streamed body after the first, counted as the server takes them: the
// request is recorded when the body ends, or when the server gives it up (the client left,
// a part failed) and drops the reply.
struct StreamedBody {
    std::function<boost::asio::awaitable<std::optional<std::string>>()> more_body;
    std::shared_ptr<Metrics> metrics;
    std::string listener;
    Answered answered;
    bool recorded = false;

    void finish(bool complete) {
        if (recorded) return;
        recorded = true;
        record(metrics.get(), listener, answered, complete);
    }

    ~StreamedBody() {
        try {
            finish(false);
        } catch (const std::exception&) {
            // Nothing to do about a log line that could not be written.
        }
    }
};

boost::asio::awaitable<std::optional<std::string>> next_counted_part(
    std::shared_ptr<StreamedBody> body) {
    auto part = co_await body->more_body();
    if (part) {
        body->answered.bytes += part->size();
    } else {
        body->finish(true);
    }
    co_return part;
}

}  // namespace

Pipeline::Pipeline(const Router& router, AccessPolicy policy, std::shared_ptr<Metrics> metrics,
                   std::string listener)
    : router_(router),
      policy_(std::move(policy)),
      metrics_(std::move(metrics)),
      listener_(std::move(listener)) {}

ip::address Pipeline::client_address(const Request& request, const ip::address& peer) const {
    if (!policy_.trusted_proxies.contains(peer)) return peer;
    const auto* forwarded = request.header("x-forwarded-for");
    if (!forwarded) return peer;
    // Walk from the nearest hop outwards; the first address no trusted proxy vouches for
    // is the client.
    ip::address client = peer;
    std::string_view hops = *forwarded;
    while (!hops.empty()) {
        auto comma = hops.rfind(',');
        auto hop = hops.substr(comma == std::string_view::npos ? 0 : comma + 1);
        hops = comma == std::string_view::npos ? std::string_view{} : hops.substr(0, comma);
        while (!hop.empty() && hop.front() == ' ') hop.remove_prefix(1);
        while (!hop.empty() && hop.back() == ' ') hop.remove_suffix(1);
        boost::system::error_code ec;
        auto address = ip::make_address(std::string(hop), ec);
        if (ec) break;
        client = address;
        if (!policy_.trusted_proxies.contains(address)) break;
    }
    return client;
}

Reply Pipeline::key_refusal(std::string_view detail) const {
    auto reply = refusal(401, "Unauthorized", detail);
    if (policy_.basic_auth) {
        reply.headers.emplace_back("WWW-Authenticate",
                                   R"(Basic realm="Metaflow", charset="UTF-8")");
    }
    return reply;
}

std::optional<Reply> Pipeline::check_key(Request& request, std::string& key_name) const {
    if (!policy_.keys || policy_.keys->empty()) return std::nullopt;
    for (const auto& open : policy_.open_routes) {
        if (request.route == open) return std::nullopt;
    }
    std::optional<std::string> presented;
    if (const auto* header = request.header("x-api-key")) {
        presented = *header;
    } else if (policy_.basic_auth) {
        if (const auto* authorization = request.header("authorization")) {
            presented = basic_password(*authorization);
        }
    }
    if (!presented) {
        return key_refusal(policy_.basic_auth
                               ? "an API key is required (header x-api-key, or as the password "
                                 "of HTTP Basic authentication)"
                               : "an API key is required (header x-api-key)");
    }
    auto key = policy_.keys->find(*presented);
    if (!key) return key_refusal("the API key is not valid");
    key_name = key->name;
    if (key->role == KeyRole::read_only && !is_read(request.method)) {
        return refusal(403, "Forbidden", "the API key '" + key->name + "' may only read");
    }
    return std::nullopt;
}

std::optional<Reply> Pipeline::check_rate(const Request& request,
                                          const std::string& key_name) const {
    if (!policy_.rate_limit) return std::nullopt;
    auto wait = policy_.rate_limit->acquire(key_name.empty() ? "address:" + request.remote_address
                                                             : "key:" + key_name);
    if (wait.count() == 0) return std::nullopt;
    auto reply = refusal(429, "Too Many Requests", "rate limit exceeded; retry later");
    reply.headers.emplace_back("Retry-After", std::to_string((wait.count() + 999) / 1000));
    return reply;
}

boost::asio::awaitable<Reply> Pipeline::handle(Request& request, const ip::address& peer) {
    auto started = std::chrono::steady_clock::now();
    if (metrics_) metrics_->request_started();
    std::string id = request_id(request);
    auto client = client_address(request, peer);
    request.remote_address = client.to_string();

    std::string key_name;
    std::string_view target = request.target;
    auto match = router_.match(request.method, target.substr(0, target.find('?')));
    if (match.handler) {
        request.route = std::string(match.route);
        request.path_params = std::move(match.params);
    }

    Reply reply;
    if (!policy_.allow.allows(client)) {
        reply = refusal(403, "Forbidden", "address " + request.remote_address + " is not allowed");
    } else if (auto refused = check_key(request, key_name)) {
        reply = std::move(*refused);
    } else if (!match.handler) {
        reply = std::move(match.fallback);
    } else if (auto limited = check_rate(request, key_name)) {
        reply = std::move(*limited);
    } else {
        try {
            reply = co_await (*match.handler)(request);
        } catch (const std::exception& e) {
            spdlog::error("request {} {} {} failed: {}", id, request.method, request.route,
                          e.what());
            reply = framework_error();
        }
    }
    reply.headers.emplace_back("X-Request-Id", id);

    Answered answered{.id = std::move(id),
                      .method = request.method,
                      .route = request.route.empty() ? std::string("unmatched") : request.route,
                      .status = reply.status,
                      .client = request.remote_address,
                      .key_name = std::move(key_name),
                      .started = started,
                      .bytes = reply.body.size(),
                      .streamed = static_cast<bool>(reply.more_body)};
    if (reply.more_body) {
        auto body = std::make_shared<StreamedBody>();
        body->more_body = std::move(reply.more_body);
        body->metrics = metrics_;
        body->listener = listener_;
        body->answered = std::move(answered);
        reply.more_body = [body] { return next_counted_part(body); };
    } else {
        record(metrics_.get(), listener_, answered, true);
    }
    co_return reply;
}

}  // namespace mf::http
