#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "http/message.hpp"
#include "model/clock.hpp"
#include "store/store.hpp"
#include "ui/plugins.hpp"
#include "ui/settings.hpp"

namespace mf::ui {

// What the UI's handlers need; owned by the service and outliving the server.
struct Context {
    Store& store;
    const Clock& clock;
    const Settings& settings;
    const Plugins& plugins;
    std::function<bool()> draining = [] { return false; };
};

using Awaitable = boost::asio::awaitable<http::Reply>;

}  // namespace mf::ui
