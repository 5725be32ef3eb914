#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>

#include "ui/static_bundle.hpp"

namespace mf::ui {

// UI plugins installed in a folder, one subfolder each with a manifest.json naming at least
// `name`, `version` and `entrypoint`. (The reference clones them from git when it starts;
// this service only serves what an operator installed.)
class Plugins {
public:
    struct Plugin {
        std::string identifier;  // the subfolder's name
        boost::json::object manifest;
        StaticFiles files;
    };

    // Reads every plugin under `folder` (nothing when empty); a subfolder without a valid
    // manifest is skipped with a warning.
    explicit Plugins(const std::string& folder);

    const Plugin* find(const std::string& identifier) const;
    // What /plugin lists for one plugin.
    static boost::json::object describe(const Plugin& plugin);
    boost::json::array describe_all() const;

private:
    std::map<std::string, Plugin> plugins_;  // by identifier
};

}  // namespace mf::ui
