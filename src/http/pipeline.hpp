#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <string>
#include <vector>

#include "http/api_keys.hpp"
#include "http/cidr.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"
#include "http/rate_limit.hpp"
#include "http/router.hpp"

namespace mf::http {

// Who may call a listener.
struct AccessPolicy {
    CidrList allow;                                    // empty: every address
    CidrList trusted_proxies;                          // peers whose X-Forwarded-For is believed
    std::shared_ptr<KeyRing> keys;                     // null or empty: no key needed
    std::shared_ptr<RateLimiter> rate_limit;           // null: unlimited
    std::vector<std::string> open_routes = {"/ping"};  // never need a key
    // Also take the key as the password of HTTP Basic authentication (any user name), and
    // ask for it with WWW-Authenticate, so that a person can log in from a browser.
    bool basic_auth = false;
};

// What every request goes through, in this order: request id, address check, routing, key
// check, rate limit, the handler; then metrics and one JSON access-log line.
class Pipeline {
public:
    Pipeline(const Router& router, AccessPolicy policy, std::shared_ptr<Metrics> metrics,
             std::string listener);

    boost::asio::awaitable<Reply> handle(Request& request, const boost::asio::ip::address& peer);

    // The address a request comes from: the peer, or the nearest untrusted hop of
    // X-Forwarded-For when the peer is a trusted proxy.
    boost::asio::ip::address client_address(const Request& request,
                                            const boost::asio::ip::address& peer) const;

private:
    std::optional<Reply> check_key(Request& request, std::string& key_name) const;
    Reply key_refusal(std::string_view detail) const;
    std::optional<Reply> check_rate(const Request& request, const std::string& key_name) const;
    boost::asio::awaitable<Reply> route(Request& request);

    const Router& router_;
    AccessPolicy policy_;
    std::shared_ptr<Metrics> metrics_;
    std::string listener_;
};

}  // namespace mf::http
