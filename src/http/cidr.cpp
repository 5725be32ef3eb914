#include "http/cidr.hpp"

#include <algorithm>
#include <stdexcept>

#include "model/text.hpp"

namespace mf::http {
namespace {

namespace ip = boost::asio::ip;

ip::address_v6::bytes_type as_v6_bytes(const ip::address& address) {
    if (address.is_v4()) return ip::make_address_v6(ip::v4_mapped, address.to_v4()).to_bytes();
    return address.to_v6().to_bytes();
}

constexpr unsigned kMappedV4Offset = 96;  // ::ffff:0:0/96

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
    auto slash = text.find('/');
    boost::system::error_code ec;
    auto address = ip::make_address(std::string(text.substr(0, slash)), ec);
    if (ec) return std::nullopt;
    unsigned max_prefix = address.is_v4() ? 32 : 128;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto digits = parse_number<unsigned>(text.substr(slash + 1));
        if (!digits || *digits > max_prefix) return std::nullopt;
        prefix = *digits;
    }
    Cidr cidr;
    cidr.network_ = as_v6_bytes(address);
    cidr.prefix_ = address.is_v4() ? prefix + kMappedV4Offset : prefix;
    cidr.text_ = std::string(text);
    return cidr;
}

bool Cidr::contains(const ip::address& address) const {
    auto bytes = as_v6_bytes(address);
    unsigned bits = prefix_;
    for (std::size_t i = 0; i < bytes.size() && bits > 0; ++i) {
        unsigned take = std::min(bits, 8u);
        auto mask = static_cast<unsigned char>(0xFF << (8 - take));
        if ((bytes[i] & mask) != (network_[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

CidrList::CidrList(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
        auto cidr = Cidr::parse(entry);
        if (!cidr) throw std::invalid_argument("not an IP network: '" + entry + "'");
        networks_.push_back(std::move(*cidr));
    }
}

bool CidrList::allows(const ip::address& address) const {
    return networks_.empty() ||
           std::any_of(networks_.begin(), networks_.end(),
                       [&](const Cidr& network) { return network.contains(address); });
}

}  // namespace mf::http
