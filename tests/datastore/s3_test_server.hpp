#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace mf::datastore::testing {

inline constexpr const char* kS3KeyId = "AKIDDATASTORETEST";
inline constexpr const char* kS3Secret = "datastore-test-secret";
inline constexpr const char* kS3Bucket = "mf-test-bucket";
// The fixture datastore is stored under this prefix of the bucket.
inline constexpr const char* kS3Prefix = "metaflow";
inline constexpr const char* kWebIdentityToken = "test-web-identity-token";
inline constexpr const char* kWebIdentityRole = "arn:aws:iam::123456789012:role/metaflow-ui";

// The S3 server of s3_server.mjs (@20minutes/s3rver, checking SigV4 signatures), on free
// loopback ports, holding the fixture datastore (trace_support.hpp) in its bucket; it also
// serves ECS-style container credentials. Stopped, with its folder, at destruction.
class S3Server {
public:
    S3Server();
    ~S3Server();
    S3Server(const S3Server&) = delete;
    S3Server& operator=(const S3Server&) = delete;

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }
    std::string credentials_url() const {
        return "http://127.0.0.1:" + std::to_string(credentials_port) + "/credentials";
    }
    // STS (AWS_ENDPOINT_URL_STS), accepting the web identity token kWebIdentityToken for
    // the role kWebIdentityRole, and the instance metadata service
    // (AWS_EC2_METADATA_SERVICE_ENDPOINT), IMDSv2 only.
    std::string sts_url() const {
        return "http://127.0.0.1:" + std::to_string(credentials_port) + "/sts";
    }
    std::string instance_metadata_url() const {
        return "http://127.0.0.1:" + std::to_string(credentials_port);
    }
    int credentials_handed_out() const;
    std::filesystem::path folder() const { return folder_; }

    std::uint16_t port = 0;
    std::uint16_t credentials_port = 0;

private:
    std::filesystem::path folder_;
    std::filesystem::path log_;
    pid_t pid_ = -1;
};

}  // namespace mf::datastore::testing
