#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "datastore/aws_credentials.hpp"
#include "datastore/http_fetch.hpp"
#include "datastore/object_store.hpp"

namespace mf::datastore {

struct S3Options {
    std::string endpoint_url;  // METAFLOW_S3_ENDPOINT_URL: a compatible store, path-style
    std::string region;        // empty: asked of the bucket, else us-east-1
    int max_attempts = 4;      // tries of one request on 5xx, throttling and transport errors
    std::chrono::milliseconds first_backoff{100};
    std::chrono::milliseconds timeout{60000};
    std::chrono::milliseconds connect_timeout{5000};
};

// A datastore under an S3 URL ("s3://bucket/prefix"), read with SigV4-signed requests.
class S3Store final : public ObjectStore {
public:
    // nullptr if `url` is not of the form s3://bucket[/prefix].
    static std::unique_ptr<S3Store> open(const std::string& url, S3Options options,
                                         std::shared_ptr<AwsCredentialChain> credentials);

    Result<std::string> read(std::string_view key, std::size_t max_bytes) override;
    Result<std::optional<std::uint64_t>> size(std::string_view key) override;
    Result<std::vector<std::string>> list(std::string_view prefix) override;
    std::string root_url() const override;

private:
    S3Store(std::string bucket, std::string prefix, S3Options options,
            std::shared_ptr<AwsCredentialChain> credentials);

    std::string bucket_;
    std::string prefix_;
    S3Options options_;
    std::shared_ptr<AwsCredentialChain> credentials_;
    std::mutex region_mutex_;
    std::string region_;

    std::string region();
    std::string object_url(std::string_view key) const;
    std::string bucket_url() const;
    std::string full_key(std::string_view key) const;
    Result<HttpResponse> send(HttpRequest request, std::string_view what);
};

}  // namespace mf::datastore
