// TLS with a certificate authority made in the test by the openssl command, checked by
// curl, a real TLS client that verifies the chain.
#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

struct Certificates {
    TempDir dir;
    std::string ca, cert, key;

    Certificates() {
        auto at = [&](const char* name) { return (dir.path() / name).string(); };
        ca = at("ca.pem");
        cert = at("server.pem");
        key = at("server.key");
        std::string script =
            "set -e; cd " + dir.path().string() +
            "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
            "-subj /CN=test-ca 2>/dev/null"
            "; openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
            "-subj /CN=127.0.0.1 2>/dev/null"
            "; printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"
            "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
            "-out server.pem -days 2 -extfile san.ext 2>/dev/null";
        EXPECT_EQ(run_command("sh -c \"" + script + "\""), 0);
    }
};

std::string curl(const std::string& arguments, int* status = nullptr) {
    std::string output;
    int code = run_command("curl -s --max-time 5 " + arguments, &output);
    if (status) *status = code;
    return output;
}

TEST(Tls, ServesTheApiOverTlsOnly) {
    Certificates certificates;
    TestServerOptions options;
    options.security.tls_cert = certificates.cert;
    options.security.tls_key = certificates.key;
    TestServer server(options);
    auto url = "https://127.0.0.1:" + std::to_string(server.port());
    EXPECT_EQ(curl("--cacert " + certificates.ca + " " + url + "/ping"), "pong");
    int status = 0;
    curl("--cacert " + certificates.ca + " -XPOST -d '{}' " + url + "/flows/TlsFlow");
    EXPECT_NE(curl("--cacert " + certificates.ca + " " + url + "/flows/TlsFlow").find("TlsFlow"),
              std::string::npos);
    // An untrusted chain, old protocol versions and plain HTTP are all refused.
    curl(url + "/ping", &status);
    EXPECT_NE(status, 0);
    curl("--cacert " + certificates.ca + " --tlsv1.0 --tls-max 1.1 " + url + "/ping", &status);
    EXPECT_NE(status, 0);
    EXPECT_NE(curl("http://127.0.0.1:" + std::to_string(server.port()) + "/ping"), "pong");
}

TEST(Tls, PlainAndTlsListenersSideBySide) {
    Certificates certificates;
    TestServerOptions options;
    options.security.tls_cert = certificates.cert;
    options.security.tls_key = certificates.key;
    options.security.tls_port = 1;  // the test server picks a free one
    TestServer server(options);
    EXPECT_EQ(server.client().get("/ping").body, "pong");
    EXPECT_EQ(curl("--cacert " + certificates.ca +
                   " https://127.0.0.1:" + std::to_string(server.tls_port()) + "/ping"),
              "pong");
}

}  // namespace
}  // namespace mf::testing
