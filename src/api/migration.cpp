#include "api/migration.hpp"

#include <stdexcept>

#include "api/context.hpp"
#include "api/json_writer.hpp"

namespace mf::api {
namespace {

// The build name the reference's migration service reports for a goose version
// (docs/api.md#migration-api).
std::string compatible_build(const SchemaStatus& status) {
    const std::int64_t version = status.current_version;
    if (version == 0 || version == 1) return "v_1_0_1";
    if (version == status.latest_version()) return "latest";
    for (auto known : status.known_versions) {
        if (known == version) return std::to_string(version);
    }
    // The reference fails here with an unhandled exception: the framework's E6
    // (docs/api.md#errors).
    throw std::runtime_error("unknown schema version " + std::to_string(version));
}

http::Reply plain(std::string body, unsigned status = 200) {
    http::Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    reply.version_header = false;
    return reply;
}

http::Reply failure_json(const std::string& detail) {
    JsonWriter out;
    out.begin_object();
    out.key("detail").string(detail);
    out.end_object();
    auto reply = plain(out.take(), 500);
    reply.content_type = "application/json";
    return reply;
}

http::Reply not_implemented() {
    return plain(
        "this store has no goose migrations: the SQLite file is migrated when it is opened", 501);
}

Awaitable version(const MigrationContext& context) {
    if (!context.migrations) co_return not_implemented();
    auto status = co_await context.migrations->status();
    if (!status) throw std::runtime_error(status.error().message);
    // A database without the tables is initialised first, as the all-in-one image expects.
    if (!status->has_tables) {
        auto applied = co_await context.migrations->upgrade();
        if (!applied) throw std::runtime_error(applied.error().message);
        co_return plain("latest");
    }
    co_return plain(compatible_build(*status));
}

Awaitable db_schema_status(const MigrationContext& context) {
    if (!context.migrations) co_return not_implemented();
    auto status = co_await context.migrations->status();
    if (!status) {
        co_return failure_json(
            "Exception('unable to get db version via goose: " + status.error().message + "')");
    }
    auto reply = plain(schema_status_json(*status));
    reply.content_type = "application/json";
    co_return reply;
}

Awaitable upgrade(const MigrationContext& context) {
    if (!context.migrations) co_return not_implemented();
    auto applied = co_await context.migrations->upgrade();
    co_return applied ? plain("upgrade success") : plain("upgrade failed", 500);
}

void versions(JsonWriter& out, const std::vector<std::int64_t>& list) {
    out.begin_array();
    for (auto version : list) out.string(std::to_string(version));
    out.end_array();
}

}  // namespace

std::string schema_status_json(const SchemaStatus& status) {
    JsonWriter out;
    out.begin_object();
    out.key("is_up_to_date").raw(status.is_up_to_date() ? "true" : "false");
    out.key("current_version").string(std::to_string(status.current_version));
    // The reference asks goose without its migrations folder, so it never sees one pending.
    out.key("migration_in_progress").raw("false");
    out.key("db_schema_versions");
    versions(out, status.known_versions);
    out.key("unapplied_migrations");
    versions(out, status.unapplied_versions);
    out.end_object();
    return out.take();
}

void add_migration_routes(http::Router& router, const MigrationContext& context) {
    router.add("GET", "/ping", [](http::Request&) -> Awaitable { co_return plain("pong"); });
    router.add("GET", "/version", [&context](http::Request&) { return version(context); });
    router.add("GET", "/db_schema_status",
               [&context](http::Request&) { return db_schema_status(context); });
    if (context.upgrade_enabled) {
        router.add("PATCH", "/upgrade", [&context](http::Request&) { return upgrade(context); });
    }
}

}  // namespace mf::api
