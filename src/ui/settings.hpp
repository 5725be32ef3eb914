#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "ui/static_bundle.hpp"

namespace mf::ui {

// What the UI's environment variables say, read once when the service starts (the
// reference's names).
struct Settings {
    PageInjections page;       // METAFLOW_SERVICE (default the path prefix or "/"),
                               // METAFLOW_HEAD, METAFLOW_BODY_BEFORE, METAFLOW_BODY_AFTER
    std::string version;       // /version: 2.5.1-<BUILD_TIMESTAMP>-<BUILD_COMMIT_HASH>
    boost::json::array links;  // CUSTOM_QUICKLINKS, or two links to Metaflow's docs and chat
    boost::json::array notifications;  // NOTIFICATIONS, formed as the UI reads them
    boost::json::object features;      // every FEATURE_* variable, as a bool
    boost::json::object config;        // the variables the UI may read (GA_TRACKING_ID)
};

// JSON configuration (CUSTOM_QUICKLINKS, NOTIFICATIONS) comes from the variable itself or
// from `config.<name>.json` in JSON_CONFIG_ROOT. Throws naming the variable or file whose
// JSON does not parse.
Settings settings_from_environment(std::string_view path_prefix);

}  // namespace mf::ui
