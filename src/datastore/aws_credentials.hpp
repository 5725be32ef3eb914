#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "model/result.hpp"

namespace mf::datastore {

// Reads an environment variable; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();
// The variable `name` as a number; unset, empty or not a number: `fallback`.
std::size_t number_or(const EnvLookup& env, const char* name, std::size_t fallback);

struct AwsCredentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // empty for long-term keys
    std::optional<std::chrono::system_clock::time_point> expiration;
    std::string source;  // "environment", "shared-credentials-file", "container", ...
};

// The standard AWS credential chain, in botocore's order (Metaflow reads S3 through boto3):
// the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); web
// identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, exchanged at STS); the shared
// credentials and config files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, profile
// AWS_PROFILE or "default"); ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
// or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); EC2 instance metadata (IMDSv2).
// Temporary credentials are fetched again when they expire within `refresh_margin`.
class AwsCredentialChain {
public:
    explicit AwsCredentialChain(EnvLookup env,
                                std::chrono::seconds refresh_margin = std::chrono::minutes(10));

    // Thread-safe; blocks while fetching.
    Result<AwsCredentials> get();
    // Drops the cached credentials, e.g. after S3 said they expired.
    void invalidate();

private:
    EnvLookup env_;
    std::chrono::seconds refresh_margin_;
    std::mutex mutex_;
    std::optional<AwsCredentials> cached_;

    Result<AwsCredentials> resolve();
};

// The region of the shared config file's profile, if it names one.
std::optional<std::string> config_file_region(const EnvLookup& env);

}  // namespace mf::datastore
