#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <string>
#include <utility>
#include <vector>

// What the UI's websockets share: answering the upgrade request that the HTTP server read
// before it handed the connection over.
namespace mf::realtime {

using WebSocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;
using UpgradeHeaders = std::vector<std::pair<std::string, std::string>>;

// Completes the handshake of the upgrade request with this target and headers (names
// lower-cased); false when it failed, e.g. a request that is not a valid upgrade.
boost::asio::awaitable<bool> accept_upgrade(WebSocket& stream, const std::string& target,
                                            const UpgradeHeaders& headers);

}  // namespace mf::realtime
