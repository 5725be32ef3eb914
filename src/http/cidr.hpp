#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf::http {

// An IPv4 or IPv6 network such as 10.0.0.0/8 or fd00::/8. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) match the IPv4 networks they map to.
class Cidr {
public:
    // nullopt when `text` is not an address with an optional /prefix.
    static std::optional<Cidr> parse(std::string_view text);
    bool contains(const boost::asio::ip::address& address) const;
    const std::string& text() const { return text_; }

private:
    boost::asio::ip::address_v6::bytes_type network_{};
    unsigned prefix_ = 0;  // in bits of the 128-bit (v4-mapped) form
    std::string text_;
};

// A list of networks; an empty list allows every address.
class CidrList {
public:
    CidrList() = default;
    // Throws std::invalid_argument naming the first entry that does not parse.
    explicit CidrList(const std::vector<std::string>& entries);
    bool empty() const { return networks_.empty(); }
    bool allows(const boost::asio::ip::address& address) const;
    bool contains(const boost::asio::ip::address& address) const {
        return !empty() && allows(address);
    }

private:
    std::vector<Cidr> networks_;
};

}  // namespace mf::http
