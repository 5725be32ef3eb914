#include "datastore/http_fetch.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

#include "model/text.hpp"

namespace mf::datastore {
namespace {

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    HttpResponse response;
    std::size_t max_body;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    std::size_t bytes = size * count;
    if (transfer->response.body.size() + bytes > transfer->max_body) {
        transfer->response.body_truncated = true;
        return 0;  // aborts the transfer
    }
    transfer->response.body.append(data, bytes);
    return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    std::string line(data, size * count);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        transfer->response.headers[ascii_lower(line.substr(0, colon))] =
            trim_space(std::string_view(line).substr(colon + 1));
    } else if (line.rfind("HTTP/", 0) == 0) {
        transfer->response.headers.clear();  // a new response (after a 100 or a redirect)
    }
    return size * count;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

Result<HttpResponse> http_fetch(const HttpRequest& request) {
    init_curl_once();
    // One handle a thread, reset for each request: it keeps connections alive between them.
    thread_local std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                                          curl_easy_cleanup);
    if (!curl) return Error::internal("libcurl could not start a transfer");
    CURL* handle = curl.get();
    curl_easy_reset(handle);
    Transfer transfer{.max_body = request.max_body_bytes};
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
    if (request.method == "HEAD") {
        curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
    }
    curl_slist* headers = nullptr;
    for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                            curl_slist_free_all);
    if (headers) curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    std::string user_password;
    if (request.aws_sigv4) {
        curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, request.aws_sigv4->c_str());
        user_password = request.aws_key_id + ":" + request.aws_secret;
        curl_easy_setopt(handle, CURLOPT_USERPWD, user_password.c_str());
    }
    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && transfer.response.body_truncated)) {
        return Error::unavailable(std::string("request to ") + request.url +
                                  " failed: " + curl_easy_strerror(code));
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
    return std::move(transfer.response);
}

}  // namespace mf::datastore
