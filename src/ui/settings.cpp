#include "ui/settings.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/version.hpp"
#include "model/text.hpp"
#include "ui/notifications.hpp"

extern char** environ;

namespace mf::ui {
namespace {

std::string variable(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

boost::json::value parse_json(std::string_view text, const std::string& source) {
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec) throw std::runtime_error(source + " is not valid JSON: " + ec.message());
    return value;
}

// The variable `name` as JSON, else config.<lower-case name>.json in JSON_CONFIG_ROOT;
// null when neither is there.
boost::json::value json_config(const char* name) {
    if (auto text = variable(name); !text.empty()) return parse_json(text, name);
    auto root = variable("JSON_CONFIG_ROOT");
    if (root.empty()) return nullptr;
    auto path = std::filesystem::path(root) / ("config." + ascii_lower(name) + ".json");
    std::ifstream in(path);
    if (!in) return nullptr;
    std::ostringstream text;
    text << in.rdbuf();
    return parse_json(text.str(), path.string());
}

boost::json::array default_links() {
    return {boost::json::object{{"href", "https://docs.metaflow.org/"}, {"label", "Documentation"}},
            boost::json::object{{"href", "http://chat.metaflow.org/"}, {"label", "Help"}}};
}

// FEATURE_X=value: false for 0, false or f (any case), true for anything else, even empty.
boost::json::object features() {
    boost::json::object flags;
    for (char** entry = environ; *entry; ++entry) {
        std::string_view text = *entry;
        if (!text.starts_with("FEATURE_")) continue;
        auto equals = text.find('=');
        if (equals == std::string_view::npos) continue;
        auto value = ascii_lower(text.substr(equals + 1));
        flags[text.substr(0, equals)] = !(value == "0" || value == "false" || value == "f");
    }
    return flags;
}

}  // namespace

Settings settings_from_environment(std::string_view path_prefix) {
    Settings settings;
    std::string prefix(path_prefix);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    settings.page.service = variable("METAFLOW_SERVICE");
    if (settings.page.service.empty()) settings.page.service = prefix.empty() ? "/" : prefix;
    settings.page.head = variable("METAFLOW_HEAD");
    settings.page.body_before = variable("METAFLOW_BODY_BEFORE");
    settings.page.body_after = variable("METAFLOW_BODY_AFTER");
    settings.version = std::string(api::kCompatibleVersion) + "-" + variable("BUILD_TIMESTAMP") +
                       "-" + variable("BUILD_COMMIT_HASH");

    auto links = json_config("CUSTOM_QUICKLINKS");
    settings.links =
        links.is_array() && !links.as_array().empty() ? links.as_array() : default_links();
    auto notifications = json_config("NOTIFICATIONS");
    if (notifications.is_array())
        settings.notifications = notifications_from(notifications.as_array());
    settings.features = features();
    if (auto tracking = variable("GA_TRACKING_ID"); !tracking.empty()) {
        settings.config["GA_TRACKING_ID"] = tracking;
    }
    return settings;
}

}  // namespace mf::ui
