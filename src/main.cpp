#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

#include "api/migration.hpp"
#include "api/version.hpp"
#include "app/service.hpp"
#include "config/config.hpp"
#include "model/clock.hpp"
#include "model/text.hpp"
#include "store/open.hpp"
#include "store/scale_fixture.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

void set_log_level(std::string level) {
    level = mf::ascii_lower(level);
    if (level == "warning") level = "warn";
    if (level == "error") level = "err";
    spdlog::set_level(spdlog::level::from_str(level));
}

// A timeline page or a long list is a few megabytes of short-lived buffers: the database's
// result, its rows, the JSON body. With glibc's defaults each such request grew an arena,
// handed its pages back to the kernel when they were freed, and the next request faulted them
// in again: 6 of the server's 8 ms of CPU on a page of 1,000 tasks. Freed memory up to 32 MiB
// per arena now stays in the process for the next request, and buffers up to that size come
// from it (the most glibc's adaptive threshold reaches). Malloc settings in GLIBC_TUNABLES win.
void keep_freed_memory_for_reuse() {
#ifdef __GLIBC__
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables && std::string_view(tunables).find("glibc.malloc.") != std::string_view::npos)
        return;
    constexpr int kMebibytes32 = 32 << 20;
    mallopt(M_MMAP_THRESHOLD, kMebibytes32);
    mallopt(M_TRIM_THRESHOLD, kMebibytes32);
#endif
}

int serve(mf::ServeConfig config) {
    set_log_level(config.log_level);
    // Signals are taken by sigwait below, not by a handler, so every thread blocks them.
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    mf::SystemClock clock;
    mf::Service service(std::move(config), clock);
    service.start();
    while (true) {
        int signal = 0;
        sigwait(&signals, &signal);
        if (signal == SIGHUP) {
            service.reload_keys();
            continue;
        }
        spdlog::info("received signal {}, finishing in-flight requests", signal);
        break;
    }
    service.stop();
    spdlog::info("stopped");
    return 0;
}

// Runs one call of the migration interface to its end on this thread.
template <class T>
mf::Result<T> run_to_end(mf::Async<T> call) {
    boost::asio::io_context io;
    std::optional<mf::Result<T>> result;
    boost::asio::co_spawn(
        io, [&]() -> boost::asio::awaitable<void> { result.emplace(co_await std::move(call)); },
        boost::asio::detached);
    io.run();
    return std::move(*result);
}

std::unique_ptr<mf::Migrations> open_schema(const std::string& database) {
    auto migrations = mf::open_migrations(database);
    if (!migrations) {
        spdlog::critical("{} has no schema migrations: give --database postgresql://...",
                         database.empty() ? std::string("no database") : database);
    }
    return migrations;
}

int migrate(const std::string& database) {
    auto migrations = open_schema(database);
    if (!migrations) return 2;
    auto applied = run_to_end(migrations->upgrade());
    if (!applied) {
        spdlog::critical("migration failed: {}", applied.error().message);
        return 1;
    }
    if (applied->empty()) std::cout << "the schema is up to date: nothing to apply\n";
    for (auto version : *applied) std::cout << "applied " << version << "\n";
    return 0;
}

int print_schema_status(const std::string& database) {
    auto migrations = open_schema(database);
    if (!migrations) return 2;
    auto status = run_to_end(migrations->status());
    if (!status) {
        spdlog::critical("cannot read the schema status: {}", status.error().message);
        return 1;
    }
    std::cout << mf::api::schema_status_json(*status) << "\n";
    return 0;
}

int copy(const std::string& from, const std::string& to) {
    try {
        for (const auto& table : mf::copy_sqlite_to_postgres(from, to)) {
            std::cout << table.table << ": " << table.source_rows << " rows in the source, "
                      << table.target_rows << " in the target\n";
        }
        return 0;
    } catch (const std::exception& e) {
        spdlog::critical("copy failed: {}", e.what());
        return 1;
    }
}

int generate_fixture(const std::string& database, const mf::ScaleFixture& fixture) {
    try {
        const auto started = std::chrono::steady_clock::now();
        const auto loaded = mf::load_scale_fixture(database, fixture);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        std::cout << "flow " << fixture.flow_id << ": big run " << loaded.big_run_number
                  << ", first foreach task " << loaded.first_body_task_id << "\n";
        for (const auto& [table, rows] : loaded.rows) std::cout << table << ": " << rows << "\n";
        std::cout << "loaded in " << took.count() << " s\n";
        return 0;
    } catch (const std::exception& e) {
        spdlog::critical("loading the fixture failed: {}", e.what());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    keep_freed_memory_for_reuse();
    CLI::App app{"Metaflow metadata service, compatible with the Metaflow client"};
    app.require_subcommand(1);

    mf::ServeConfig config;
    auto* serve_command = app.add_subcommand("serve", "Serve the metadata API");
    mf::add_serve_options(*serve_command, config);

    mf::ServeConfig shown;
    auto* config_command = app.add_subcommand(
        "config",
        "Print the effective configuration of `serve` with these options, secrets masked");
    mf::add_serve_options(*config_command, shown);

    app.add_subcommand("version", "Print the version")->callback([] {
        std::cout << "metadata-service " << MF_VERSION << " (compatible with "
                  << mf::api::kCompatibleVersion << ")\n";
    });

    std::string schema_database;
    auto* migrate_command = app.add_subcommand(
        "migrate", "Apply the pending schema migrations of a PostgreSQL database");
    auto* status_command = app.add_subcommand(
        "db-status", "Print the schema status of a PostgreSQL database, as /db_schema_status");
    for (auto* command : {migrate_command, status_command}) {
        command->add_option("--database", schema_database, "postgresql://user:password@host/name")
            ->envname("MF_METADATA_DATABASE_URL");
    }

    std::string copy_from;
    std::string copy_to;
    auto* copy_command = app.add_subcommand(
        "copy", "Copy a SQLite store into PostgreSQL, ids preserved (safe to run again)");
    copy_command->add_option("--from", copy_from, "sqlite:PATH")->required();
    copy_command->add_option("--to", copy_to, "postgresql://user:password@host/name")->required();

    std::string fixture_database;
    int fixture_scale = 1;
    std::int64_t fixture_runs = 0;  // 0: the scale's
    std::int64_t fixture_tasks = 0;
    std::string fixture_flow = mf::ScaleFixture{}.flow_id;
    auto* fixture_command = app.add_subcommand(
        "generate-fixture",
        "Load the scale fixture (bench/scale.sh reads it) into a database: a flow of 2,000 runs, "
        "the newest with a foreach step of 50,000 tasks, 10 metadata rows and 10 artifacts per "
        "task");
    fixture_command->add_option("--database", fixture_database, "sqlite:PATH or postgresql://...")
        ->required();
    fixture_command
        ->add_option("--scale", fixture_scale, "1, or 10 for ten times as many runs and tasks")
        ->check(CLI::Range(1, 100));
    fixture_command->add_option("--runs", fixture_runs, "runs in the flow, instead of the scale's");
    fixture_command->add_option("--foreach-tasks", fixture_tasks,
                                "tasks of the big run's foreach step, instead of the scale's");
    fixture_command->add_option("--flow", fixture_flow, "the flow's name");
    std::int64_t fixture_retry_every = 0;
    fixture_command
        ->add_option("--retry-every", fixture_retry_every,
                     "retry every N-th task of the foreach step once (its first attempt failed); "
                     "0 for none")
        ->check(CLI::NonNegativeNumber);
    bool fixture_as_written = false;
    fixture_command->add_flag(
        "--as-written", fixture_as_written,
        "PostgreSQL: leave the tables as the load wrote them, without statistics or visibility "
        "map (by default they are vacuumed and analyzed, as autovacuum leaves them later)");

    CLI11_PARSE(app, argc, argv);
    if (copy_command->parsed()) return copy(copy_from, copy_to);
    if (fixture_command->parsed()) {
        auto fixture = mf::ScaleFixture::at_scale(fixture_scale);
        fixture.flow_id = fixture_flow;
        if (fixture_runs > 0) fixture.runs = fixture_runs;
        if (fixture_tasks > 0) fixture.big_step_tasks = fixture_tasks;
        fixture.vacuum_analyze = !fixture_as_written;
        fixture.retry_every = fixture_retry_every;
        return generate_fixture(fixture_database, fixture);
    }
    // With no database named, the reference's MF_METADATA_DB_* variables choose PostgreSQL.
    for (auto [command, database] :
         {std::pair{serve_command, &config.database}, std::pair{config_command, &shown.database}}) {
        if (command->get_option("--database")->count() > 0) continue;
        if (auto url = mf::environment_database_url()) *database = *url;
    }
    if (schema_database.empty()) {
        schema_database = mf::environment_database_url().value_or("");
    }
    if (migrate_command->parsed()) return migrate(schema_database);
    if (status_command->parsed()) return print_schema_status(schema_database);
    if (config_command->parsed()) {
        std::cout << mf::describe(shown);
        return 0;
    }
    if (serve_command->parsed()) {
        try {
            return serve(std::move(config));
        } catch (const std::exception& e) {
            spdlog::critical("{}", e.what());
            return 1;
        }
    }
    return 0;
}
