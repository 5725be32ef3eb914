#include "datastore/s3_store.hpp"

#include <algorithm>
#include <random>
#include <thread>

namespace mf::datastore {
namespace {

// SHA-256 of an empty body: every request here is a GET or HEAD.
const std::string& empty_payload_header() {
    static const std::string header =
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    return header;
}

std::string xml_text(const std::string& xml, const std::string& name, std::size_t from = 0) {
    auto open = xml.find("<" + name + ">", from);
    if (open == std::string::npos) return "";
    open += name.size() + 2;
    auto close = xml.find("</" + name + ">", open);
    if (close == std::string::npos) return "";
    return xml.substr(open, close - open);
}

std::string xml_unescape(std::string text) {
    static const std::pair<const char*, const char*> entities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const auto& [from, to] : entities) {
        std::string::size_type at = 0;
        std::string needle(from);
        while ((at = text.find(needle, at)) != std::string::npos) {
            text.replace(at, needle.size(), to);
            at += std::char_traits<char>::length(to);
        }
    }
    return text;
}

// What S3 answers when it cannot be reached, fails through every retry or answers what no
// single object explains: the whole store, not one key, is failing.
constexpr const char* kOutOfReachId = "MetaflowS3Exception";

bool retryable(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

Error status_error(long status, const std::string& body, std::string_view what) {
    std::string code = xml_text(body, "Code");
    std::string message =
        std::string(what) + ": HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
    if (status == 404) return Error::not_found(message).with_id("MetaflowS3NotFound");
    if (status == 403) return Error::unavailable(message).with_id("MetaflowS3AccessDenied");
    if (status == 416) return Error::unprocessable(message).with_id("MetaflowS3InvalidRange");
    if (status == 301 || status == 400) {
        return Error::unavailable(message).with_id("MetaflowS3URLException");
    }
    return Error::unavailable(message).with_id(kOutOfReachId);
}

}  // namespace

bool out_of_reach(const Error& error) {
    return error.kind == ErrorKind::unavailable && error.id == kOutOfReachId;
}

std::unique_ptr<S3Store> S3Store::open(const std::string& url, S3Options options,
                                       std::shared_ptr<AwsCredentialChain> credentials) {
    constexpr std::string_view scheme = "s3://";
    if (url.rfind(scheme, 0) != 0) return nullptr;
    std::string rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (bucket.empty()) return nullptr;
    return std::unique_ptr<S3Store>(new S3Store(std::move(bucket), std::move(prefix),
                                                std::move(options), std::move(credentials)));
}

S3Store::S3Store(std::string bucket, std::string prefix, S3Options options,
                 std::shared_ptr<AwsCredentialChain> credentials)
    : bucket_(std::move(bucket)),
      prefix_(std::move(prefix)),
      options_(std::move(options)),
      credentials_(std::move(credentials)),
      region_(options_.region) {}

std::string S3Store::root_url() const {
    return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_);
}

std::string S3Store::full_key(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "/" + std::string(key);
}

std::string S3Store::bucket_url() const {
    if (!options_.endpoint_url.empty()) {
        std::string endpoint = options_.endpoint_url;
        while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
        return endpoint + "/" + uri_encode(bucket_, false);
    }
    std::string region = region_.empty() ? "us-east-1" : region_;
    if (bucket_.find('.') != std::string::npos) {
        return "https://s3." + region + ".amazonaws.com/" + bucket_;
    }
    return "https://" + bucket_ + ".s3." + region + ".amazonaws.com";
}

std::string S3Store::object_url(std::string_view key) const {
    return bucket_url() + "/" + uri_encode(full_key(key), true);
}

// The bucket's region, asked once when neither the options nor the environment named it:
// S3 names it in x-amz-bucket-region even when it refuses the request.
std::string S3Store::region() {
    std::lock_guard lock(region_mutex_);
    if (!region_.empty()) return region_;
    region_ = "us-east-1";
    if (options_.endpoint_url.empty()) {
        auto credentials = credentials_->get();
        HttpRequest probe{.method = "HEAD", .url = bucket_url()};
        probe.timeout = options_.timeout;
        probe.connect_timeout = options_.connect_timeout;
        if (credentials) {
            probe.aws_sigv4 = "aws:amz:us-east-1:s3";
            probe.aws_key_id = credentials->access_key_id;
            probe.aws_secret = credentials->secret_access_key;
            probe.headers.push_back(empty_payload_header());
            if (!credentials->session_token.empty()) {
                probe.headers.push_back("x-amz-security-token: " + credentials->session_token);
            }
        }
        if (auto answer = http_fetch(probe)) {
            auto found = answer->headers.find("x-amz-bucket-region");
            if (found != answer->headers.end() && !found->second.empty()) region_ = found->second;
        }
    }
    return region_;
}

Result<HttpResponse> S3Store::send(HttpRequest request, std::string_view what) {
    std::string signing = "aws:amz:";
    signing += region();
    signing += ":s3";
    request.aws_sigv4 = std::move(signing);
    request.timeout = options_.timeout;
    request.connect_timeout = options_.connect_timeout;
    auto base_headers = request.headers;
    std::minstd_rand jitter(std::random_device{}());
    std::optional<Error> last_failure;
    for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
        if (attempt > 0) {
            auto backoff = options_.first_backoff * (1 << std::min(attempt - 1, 6));
            std::uniform_int_distribution<long> spread(0, backoff.count());
            std::this_thread::sleep_for(backoff + std::chrono::milliseconds(spread(jitter)));
        }
        auto credentials = credentials_->get();
        if (!credentials) return credentials.take_error();
        request.aws_key_id = credentials->access_key_id;
        request.aws_secret = credentials->secret_access_key;
        request.headers = base_headers;
        request.headers.push_back(empty_payload_header());
        if (!credentials->session_token.empty()) {
            request.headers.push_back("x-amz-security-token: " + credentials->session_token);
        }
        auto response = http_fetch(request);
        if (!response) {
            last_failure = Error::unavailable(std::string(what) + ": " + response.error().message)
                               .with_id(kOutOfReachId);
            continue;
        }
        if (retryable(response->status)) {
            last_failure = status_error(response->status, response->body, what);
            continue;
        }
        if (response->status == 400 && xml_text(response->body, "Code") == "ExpiredToken") {
            credentials_->invalidate();
            last_failure = status_error(response->status, response->body, what);
            continue;
        }
        return response;
    }
    return std::move(*last_failure);
}

Result<std::string> S3Store::read(std::string_view key, std::size_t max_bytes) {
    if (!safe_key(key)) {
        return Error::not_found("no object " + std::string(key)).with_id("MetaflowS3NotFound");
    }
    auto what = root_url() + "/" + std::string(key);
    auto response = send({.url = object_url(key), .max_body_bytes = max_bytes}, what);
    if (!response) return response.take_error();
    if (response->body_truncated) {
        return Error::unprocessable(what + ": more than " + std::to_string(max_bytes) + " bytes")
            .with_id("artifact-too-large");
    }
    if (response->status != 200) return status_error(response->status, response->body, what);
    return std::move(response->body);
}

Result<std::optional<std::uint64_t>> S3Store::size(std::string_view key) {
    if (!safe_key(key)) return std::optional<std::uint64_t>{};
    auto what = root_url() + "/" + std::string(key);
    auto response = send({.method = "HEAD", .url = object_url(key)}, what);
    if (!response) return response.take_error();
    if (response->status == 404) return std::optional<std::uint64_t>{};
    if (response->status != 200) return status_error(response->status, response->body, what);
    auto length = response->headers.find("content-length");
    if (length == response->headers.end()) return std::optional<std::uint64_t>{0};
    return std::optional<std::uint64_t>(std::stoull(length->second));
}

Result<std::vector<std::string>> S3Store::list(std::string_view prefix) {
    std::vector<std::string> names;
    if (!safe_key(prefix)) return names;
    std::string folder = full_key(prefix) + "/";
    std::string continuation;
    auto what = root_url() + "/" + std::string(prefix) + "/";
    do {
        // Parameters in canonical (sorted) order and fully encoded, as SigV4 signs them.
        std::string query = "?";
        if (!continuation.empty())
            query += "continuation-token=" + uri_encode(continuation, false) + "&";
        query += "delimiter=%2F&list-type=2&prefix=" + uri_encode(folder, false);
        // Path-style listings name the bucket without a trailing '/', as S3 signs them.
        bool path_style = !options_.endpoint_url.empty() || bucket_.find('.') != std::string::npos;
        auto response = send({.url = bucket_url() + (path_style ? "" : "/") + query}, what);
        if (!response) return response.take_error();
        if (response->status != 200) return status_error(response->status, response->body, what);
        const std::string& xml = response->body;
        std::size_t at = 0;
        while ((at = xml.find("<Contents>", at)) != std::string::npos) {
            auto key = xml_unescape(xml_text(xml, "Key", at));
            if (key.rfind(folder, 0) == 0 && key.size() > folder.size()) {
                names.push_back(key.substr(folder.size()));
            }
            at += 10;
        }
        continuation = xml_text(xml, "IsTruncated") == "true"
                           ? xml_unescape(xml_text(xml, "NextContinuationToken"))
                           : "";
    } while (!continuation.empty());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace mf::datastore
