// What only the real binary shows: signals, timeouts on the wire, the config command.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/process.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Running {
    TempDir dir;
    std::uint16_t port = free_port();
    std::unique_ptr<ServiceProcess> process;

    explicit Running(std::vector<std::string> extra = {}) {
        std::vector<std::string> arguments = {"serve",
                                              "--host",
                                              "127.0.0.1",
                                              "--port",
                                              std::to_string(port),
                                              "--database",
                                              "sqlite:" + (dir.path() / "m.db").string()};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        process = std::make_unique<ServiceProcess>(arguments, (dir.path() / "log").string());
        EXPECT_TRUE(process->wait_until_serving(port)) << process->log();
    }
};

tcp::socket connect(asio::io_context& io, std::uint16_t port) {
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    return socket;
}

std::string read_all(tcp::socket& socket) {
    std::string text;
    char buffer[4096];
    boost::system::error_code ec;
    while (true) {
        auto n = socket.read_some(asio::buffer(buffer), ec);
        if (ec) break;
        text.append(buffer, n);
    }
    return text;
}

TEST(Operations, SigtermLetsASlowRequestFinishThenExitsZero) {
    Running service;
    asio::io_context io;
    auto socket = connect(io, service.port);
    std::string body = R"({"user_name": "slow"})";
    std::string head = "POST /flows/SlowFlow HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n";
    asio::write(socket, asio::buffer(head + body.substr(0, 5)));
    std::this_thread::sleep_for(200ms);
    service.process->signal(SIGTERM);
    std::this_thread::sleep_for(300ms);
    asio::write(socket, asio::buffer(body.substr(5)));
    auto response = read_all(socket);
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_NE(response.find("\"user_name\":\"slow\""), std::string::npos) << response;
    EXPECT_EQ(service.process->wait_for_exit(10s), 0) << service.process->log();
}

TEST(Operations, SigtermClosesIdleConnectionsAndRefusesNewOnes) {
    Running service;
    HttpClient idle(service.port);
    ASSERT_EQ(idle.get("/ping").status, 200u);
    service.process->signal(SIGINT);
    EXPECT_EQ(service.process->wait_for_exit(10s), 0) << service.process->log();
    asio::io_context io;
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect({asio::ip::make_address("127.0.0.1"), service.port}, ec);
    EXPECT_TRUE(ec);
}

TEST(Operations, SigtermLeavesTheSqliteFileAloneWithoutItsLogFiles) {
    Running service;
    HttpClient client(service.port);
    ASSERT_EQ(client.request("POST", "/flows/WalFlow", R"({"user_name": "u"})").status, 200u);
    ASSERT_EQ(client.get("/flows/WalFlow").status, 200u);
    const auto database = service.dir.path() / "m.db";
    ASSERT_TRUE(std::filesystem::exists(database.string() + "-wal"));
    service.process->signal(SIGTERM);
    ASSERT_EQ(service.process->wait_for_exit(10s), 0) << service.process->log();
    EXPECT_TRUE(std::filesystem::exists(database));
    EXPECT_FALSE(std::filesystem::exists(database.string() + "-wal"));
    EXPECT_FALSE(std::filesystem::exists(database.string() + "-shm"));
}

TEST(Operations, SlowClientIsDroppedByTheRequestTimeout) {
    Running service({"--idle-timeout", "1", "--request-timeout", "1"});
    asio::io_context io;
    auto socket = connect(io, service.port);
    asio::write(socket, asio::buffer(std::string("GET /ping HTTP/1.1\r\nHo")));
    auto started = std::chrono::steady_clock::now();
    auto rest = read_all(socket);  // returns when the server closes the connection
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(rest.empty()) << rest;
    EXPECT_LT(waited, 5s);
    EXPECT_GE(waited, 500ms);
    HttpClient fresh(service.port);
    EXPECT_EQ(fresh.get("/ping").status, 200u);  // the server itself is fine
}

TEST(Operations, SighupReloadsTheKeyFileWithoutRestarting) {
    TempDir keys_dir;
    auto keys = (keys_dir.path() / "keys").string();
    std::ofstream(keys) << "first:old-key\n";
    Running service({"--api-keys-file", keys});
    HttpClient client(service.port);
    EXPECT_EQ(client.request("GET", "/flows", "", {{"x-api-key", "old-key"}}).status, 200u);
    EXPECT_EQ(client.request("GET", "/flows", "", {{"x-api-key", "new-key"}}).status, 401u);

    std::ofstream(keys) << "second:new-key\n";
    service.process->signal(SIGHUP);
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; ++i) {
        std::this_thread::sleep_for(20ms);
        reloaded = client.request("GET", "/flows", "", {{"x-api-key", "new-key"}}).status == 200;
    }
    EXPECT_TRUE(reloaded) << service.process->log();
    EXPECT_EQ(client.request("GET", "/flows", "", {{"x-api-key", "old-key"}}).status, 401u);
    EXPECT_FALSE(service.process->wait_for_exit(0ms));  // still the same process
    auto log = service.process->log();
    EXPECT_NE(log.find("API keys reloaded"), std::string::npos) << log;
    EXPECT_EQ(log.find("new-key"), std::string::npos) << "the log must never hold a key";
}

TEST(Operations, NoKeysIsSaidLoudlyAtStart) {
    Running service;
    EXPECT_NE(service.process->log().find("NO API KEYS ARE CONFIGURED"), std::string::npos);
}

TEST(Operations, AccessLogIsOneJsonLineARequestWithoutSecrets) {
    Running service({"--api-keys", "ci:very-secret-key"});
    HttpClient client(service.port);
    ASSERT_EQ(client
                  .request("GET", "/flows", "",
                           {{"x-api-key", "very-secret-key"}, {"x-request-id", "trace-42"}})
                  .status,
              200u);
    service.process->signal(SIGTERM);
    service.process->wait_for_exit(10s);
    auto log = service.process->log();
    EXPECT_EQ(log.find("very-secret-key"), std::string::npos);
    auto at = log.find("\"request_id\":\"trace-42\"");
    ASSERT_NE(at, std::string::npos) << log;
    auto begin = log.rfind('\n', at) + 1;
    auto line = boost::json::parse(log.substr(begin, log.find('\n', at) - begin)).as_object();
    EXPECT_EQ(line.at("route").as_string(), "/flows");
    EXPECT_EQ(line.at("status").as_int64(), 200);
    EXPECT_EQ(line.at("key").as_string(), "ci");
    EXPECT_EQ(line.at("client").as_string(), "127.0.0.1");
    EXPECT_TRUE(line.at("duration_us").is_int64());
    EXPECT_EQ(line.at("time").as_string().size(), 24u);  // 2026-11-25T14:15:02.271Z
    EXPECT_TRUE(line.contains("bytes"));
}

TEST(Operations, AccessLogCountsTheWholeOfAStreamedReply) {
    Running service;
    HttpClient client(service.port);
    ASSERT_EQ(client.post("/flows/BigFlow", R"({"user_name": "b"})").status, 200u);
    // More runs than a page of a streamed list (api::kStreamPageRows: 1,000).
    constexpr std::size_t kRuns = 2'500;
    for (std::size_t i = 0; i < kRuns; ++i)
        ASSERT_EQ(client.post("/flows/BigFlow/run", R"({"user_name": "b"})").status, 200u);
    auto list = client.request("GET", "/flows/BigFlow/runs", "", {{"x-request-id", "big-list"}});
    ASSERT_EQ(list.status, 200u);
    ASSERT_EQ(list.header("transfer-encoding"), "chunked");
    ASSERT_EQ(list.json().as_array().size(), kRuns);
    service.process->signal(SIGTERM);
    service.process->wait_for_exit(10s);
    auto log = service.process->log();
    auto at = log.find("\"request_id\":\"big-list\"");
    ASSERT_NE(at, std::string::npos) << log;
    auto begin = log.rfind('\n', at) + 1;
    auto line = boost::json::parse(log.substr(begin, log.find('\n', at) - begin)).as_object();
    EXPECT_EQ(line.at("bytes").as_int64(), static_cast<std::int64_t>(list.body.size()));
    EXPECT_EQ(line.at("streamed"), true);
    EXPECT_FALSE(line.contains("cut_short"));
}

TEST(Operations, ConfigCommandPrintsEffectiveConfigWithSecretsMasked) {
    std::string output;
    int status = run_command(std::string(MF_BINARY) +
                                 " config --port 9999 --api-keys a:topsecret "
                                 "--database postgresql://user:hunter2@db:5432/mf "
                                 "--allow-cidr 10.0.0.0/8 --allow-cidr 192.168.0.0/16",
                             &output);
    EXPECT_EQ(status, 0);
    EXPECT_NE(output.find("port = 9999"), std::string::npos) << output;
    EXPECT_NE(output.find("allow-cidr = 10.0.0.0/8,192.168.0.0/16"), std::string::npos) << output;
    EXPECT_NE(output.find("postgresql://user:****@db:5432/mf"), std::string::npos) << output;
    EXPECT_EQ(output.find("hunter2"), std::string::npos);
    EXPECT_EQ(output.find("topsecret"), std::string::npos);
}

TEST(Operations, EnvironmentMirrorsTheFlags) {
    std::string output;
    run_command("MF_METADATA_PORT=7777 MF_METADATA_ALLOW_CIDRS=10.0.0.0/8,::1/128 " +
                    std::string(MF_BINARY) + " config",
                &output);
    EXPECT_NE(output.find("port = 7777"), std::string::npos) << output;
    EXPECT_NE(output.find("allow-cidr = 10.0.0.0/8,::1/128"), std::string::npos) << output;
}

TEST(Operations, BadAllowListStopsTheStartWithAClearMessage) {
    TempDir dir;
    ServiceProcess process({"serve", "--port", std::to_string(free_port()), "--database",
                            "sqlite:" + (dir.path() / "m.db").string(), "--allow-cidr", "10.0.0/8"},
                           (dir.path() / "log").string());
    EXPECT_EQ(process.wait_for_exit(10s), 1);
    EXPECT_NE(process.log().find("10.0.0/8"), std::string::npos) << process.log();
}

TEST(Operations, PortInUseStopsTheStartInsteadOfSharingIt) {
    Running first;
    TempDir dir;
    ServiceProcess second({"serve", "--host", "127.0.0.1", "--port", std::to_string(first.port),
                           "--database", "sqlite:" + (dir.path() / "m.db").string()},
                          (dir.path() / "log").string());
    EXPECT_NE(second.wait_for_exit(10s), 0);
    EXPECT_NE(second.log().find("in use"), std::string::npos) << second.log();
}

}  // namespace
}  // namespace mf::testing
