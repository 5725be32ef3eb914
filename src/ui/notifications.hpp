#pragma once

#include <boost/json.hpp>
#include <string>

#include "http/message.hpp"

namespace mf::ui {

// The notifications the UI shows, from the configured entries as the reference forms them:
// entries without `message`, or without `created` and `start`, are left out; `created`
// defaults to `start`, `type` to "info", `contentType` to "text", and `id` to the SHA-1 of
// the entry as Python prints it (so that ids match the reference's).
boost::json::array notifications_from(const boost::json::array& configured);

// The notifications that pass the query's filters, `field[:op]=value` with op one of eq, ne,
// lt, le, gt, ge (default eq), the value read as the field's type. As in the reference, a
// condition on a field that is missing, null, zero or empty, an unknown op, or a value
// that is empty or zero are ignored, and a value that does not read as the field's type
// ends the filtering, keeping the notification.
boost::json::array filter_notifications(const boost::json::array& notifications,
                                        const http::Fields& query);

// `value` as Python's str() prints the object that json.loads makes of it.
std::string python_repr(const boost::json::value& value);

}  // namespace mf::ui
