#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/result.hpp"

namespace mf::datastore {

// One HTTP exchange through libcurl, for S3 and the credential endpoints. Blocking.
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    // SigV4-signs the request (libcurl's CURLOPT_AWS_SIGV4) for this "aws:amz:region:service".
    std::optional<std::string> aws_sigv4;
    std::string aws_key_id;
    std::string aws_secret;
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
    std::size_t max_body_bytes = std::size_t{1} << 30;
};

struct HttpResponse {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lower case
    bool body_truncated = false;                 // the body passed max_body_bytes
};

// A transport failure (no connection, timeout) is an error with kind unavailable; any HTTP
// status is a response.
Result<HttpResponse> http_fetch(const HttpRequest& request);

// RFC 3986 percent-encoding; '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

}  // namespace mf::datastore
