#pragma once

#include "http/router.hpp"
#include "realtime/hub.hpp"
#include "ui/database_routes.hpp"

namespace mf::ui {

// Whether the request asks to upgrade to a websocket (its Upgrade header names it).
bool asks_for_websocket(const http::Request& request);

// What the realtime hub needs of the UI: the list grammar's filters for a subscription's
// query, and rows rendered as the GET routes render them, with their statuses.
realtime::HubContext realtime_context(const DatabaseContext& context);

// The hub's settings from the environment: WS_QUEUE_TTL_SECONDS (300), MF_UI_WS_MAX_SOCKETS
// (10,000), MF_UI_WS_MAX_SUBSCRIPTIONS (per socket, 200), MF_UI_WS_SEND_QUEUE_BYTES (per
// socket, 4 MiB), MF_UI_WS_IDLE_TIMEOUT (s, 60) and MF_UI_HEARTBEAT_MONITOR_INTERVAL_MS
// (HEARTBEAT_THRESHOLD + 10 s, as the reference's monitors).
realtime::HubOptions realtime_options_from_environment(const StatusThresholds& thresholds);

// GET /ws: the websocket of the realtime updates (docs/ui.md#realtime), an explicit route so
// that it never reaches the single-page fallback. A GET without an upgrade answers 400.
void add_realtime_route(http::Router& router, realtime::Hub& hub);

}  // namespace mf::ui
