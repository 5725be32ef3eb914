#include "realtime/websocket.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket.hpp>

namespace mf::realtime {

boost::asio::awaitable<bool> accept_upgrade(WebSocket& stream, const std::string& target,
                                            const UpgradeHeaders& headers) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::empty_body> upgrade{bhttp::verb::get, target, 11};
    for (const auto& [name, value] : headers) upgrade.insert(name, value);
    auto [error] =
        co_await stream.async_accept(upgrade, boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return !error;
}

}  // namespace mf::realtime
