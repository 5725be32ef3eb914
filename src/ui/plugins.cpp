#include "ui/plugins.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "ui/reply.hpp"
#include "ui/routes.hpp"

namespace mf::ui {
namespace {

namespace fs = std::filesystem;

http::Reply plugin_not_found() {
    return json_reply(boost::json::string("Plugin not found"), 404);
}

}  // namespace

Plugins::Plugins(const std::string& folder) {
    if (folder.empty()) return;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (!entry.is_directory()) continue;
        auto identifier = entry.path().filename().string();
        StaticFiles files(entry.path(), {});
        const auto* manifest_file = files.find("/manifest.json");
        boost::system::error_code ec;
        auto manifest =
            manifest_file ? boost::json::parse(manifest_file->body, ec) : boost::json::value();
        const auto* fields = manifest.if_object();
        if (!fields || !fields->contains("name") || !fields->contains("version") ||
            !fields->contains("entrypoint")) {
            spdlog::warn(
                "UI plugin {} skipped: it needs a manifest.json with name, version and "
                "entrypoint",
                entry.path().string());
            continue;
        }
        plugins_.emplace(identifier, Plugin{identifier, *fields, std::move(files)});
        spdlog::info("UI plugin {} loaded", identifier);
    }
}

const Plugins::Plugin* Plugins::find(const std::string& identifier) const {
    auto found = plugins_.find(identifier);
    return found == plugins_.end() ? nullptr : &found->second;
}

boost::json::object Plugins::describe(const Plugin& plugin) {
    boost::json::array files;
    for (const auto& path : plugin.files.paths()) files.emplace_back(path.substr(1));
    return {{"identifier", plugin.identifier},
            {"name", plugin.identifier},
            {"repository", nullptr},
            {"ref", nullptr},
            {"parameters", boost::json::object()},
            {"config", plugin.manifest},
            {"files", std::move(files)}};
}

boost::json::array Plugins::describe_all() const {
    boost::json::array all;
    for (const auto& [identifier, plugin] : plugins_) all.emplace_back(describe(plugin));
    return all;
}

void add_plugin_routes(http::Router& router, const Context& context) {
    router.add("GET", "/plugin", [&context](http::Request&) -> Awaitable {
        co_return json_reply(context.plugins.describe_all());
    });
    router.add("GET", "/plugin/{plugin_name}", [&context](http::Request& request) -> Awaitable {
        const auto* plugin = context.plugins.find(request.param("plugin_name"));
        if (!plugin) co_return plugin_not_found();
        co_return json_reply(Plugins::describe(*plugin));
    });
    router.add("GET", "/plugin/{plugin_name}/{filename*}",
               [&context](http::Request& request) -> Awaitable {
                   const auto* plugin = context.plugins.find(request.param("plugin_name"));
                   if (!plugin) co_return plugin_not_found();
                   const auto* file = plugin->files.find("/" + request.param("filename"));
                   if (!file) co_return text_reply("File not found", false, 404);
                   co_return StaticFiles::reply(*file, request);
               });
}

}  // namespace mf::ui
