#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "datastore/http_fetch.hpp"
#include "datastore/s3_store.hpp"
#include "datastore/s3_test_server.hpp"
#include "datastore/trace_checks.hpp"
#include "datastore/trace_support.hpp"
#include "datastore/worker_pool.hpp"
#include "support/process.hpp"

namespace mf::datastore::testing {
namespace {

constexpr const char* key_id = kS3KeyId;
constexpr const char* secret = kS3Secret;
constexpr const char* bucket = kS3Bucket;

class S3Datastore : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server_ = new S3Server(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    // The environment the service would run in, pointing at the test's server.
    std::map<std::string, std::string> environment() const {
        return {{"METAFLOW_DATASTORE_SYSROOT_S3", std::string("s3://") + bucket + "/metaflow"},
                {"METAFLOW_S3_ENDPOINT_URL", server_->endpoint()},
                {"AWS_EC2_METADATA_DISABLED", "true"},
                {"HOME", server_->folder().string()}};
    }
    static EnvLookup lookup(std::map<std::string, std::string> values) {
        return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
            auto found = values.find(name);
            if (found == values.end()) return std::nullopt;
            return found->second;
        };
    }
    std::shared_ptr<Datastore> open(std::map<std::string, std::string> values) const {
        auto datastore = Datastore::from_environment(lookup(std::move(values)));
        EXPECT_TRUE(datastore.ok());
        EXPECT_TRUE(datastore.ok() && *datastore);
        return datastore.ok() ? *datastore : nullptr;
    }
    // The chain, in `values`, finds temporary credentials at `source`.
    static void expect_temporary_credentials(const std::map<std::string, std::string>& values,
                                             const std::string& source,
                                             const std::string& session_token) {
        AwsCredentialChain chain(lookup(values));
        auto credentials = chain.get();
        ASSERT_TRUE(credentials.ok()) << credentials.error().message;
        EXPECT_EQ(credentials->source, source);
        EXPECT_EQ(credentials->session_token, session_token);
        EXPECT_TRUE(credentials->expiration.has_value());
    }
    std::map<std::string, std::string> with_environment_keys() const {
        auto values = environment();
        values["AWS_ACCESS_KEY_ID"] = key_id;
        values["AWS_SECRET_ACCESS_KEY"] = secret;
        return values;
    }

    static S3Server* server_;
};
S3Server* S3Datastore::server_ = nullptr;

const TaskPath linear_start{"AccLinear_ui", "1", "start", "2"};

TEST_F(S3Datastore, ReadsMatchTheReferenceAsOnLocalDisk) {
    auto datastore = open(with_environment_keys());
    ASSERT_TRUE(datastore);
    EXPECT_EQ(datastore->objects().root_url(), std::string("s3://") + bucket + "/metaflow");
    EXPECT_EQ(check_parameters(*datastore), 14);
    EXPECT_EQ(check_dags(*datastore), 13);
    EXPECT_EQ(check_logs(*datastore), 34);
    EXPECT_EQ(check_log_downloads(*datastore), 6);
    EXPECT_EQ(check_cards(*datastore), 7);
    EXPECT_EQ(check_artifact_contents(*datastore), 237);
    EXPECT_EQ(check_task_refinement(*datastore), 90);
}

TEST_F(S3Datastore, UnsignedRequestsAndAWrongSecretAreRefused) {
    auto unsigned_read = http_fetch({.url = server_->endpoint() + "/" + bucket +
                                            "/metaflow/AccLinear_ui/1/start/2/0.data.json"});
    ASSERT_TRUE(unsigned_read.ok());
    EXPECT_EQ(unsigned_read->status, 403);

    auto values = with_environment_keys();
    values["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
    auto datastore = open(values);
    ASSERT_TRUE(datastore);
    auto artifacts = datastore->artifacts(linear_start, 0);
    ASSERT_FALSE(artifacts.ok());
    EXPECT_EQ(artifacts.error().id, "MetaflowS3AccessDenied");
    EXPECT_NE(artifacts.error().message.find("SignatureDoesNotMatch"), std::string::npos)
        << artifacts.error().message;
}

TEST_F(S3Datastore, MissingObjectsAreNotFound) {
    auto datastore = open(with_environment_keys());
    ASSERT_TRUE(datastore);
    auto artifacts = datastore->artifacts({"AccLinear_ui", "1", "start", "99999"}, 0);
    ASSERT_FALSE(artifacts.ok());
    EXPECT_EQ(artifacts.error().kind, ErrorKind::not_found);
    EXPECT_EQ(artifacts.error().id, "MetaflowS3NotFound");
    auto size = datastore->log_size({"AccRetry_ui", "5", "flaky", "49"}, 0, LogStream::err);
    ASSERT_TRUE(size.ok()) << size.error().message;
    EXPECT_EQ(*size, 5182u);
}

TEST_F(S3Datastore, CredentialsFromTheSharedFileAndProfile) {
    auto file = server_->folder() / "credentials";
    std::ofstream(file) << "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                        << "[ci]\naws_access_key_id = " << key_id
                        << "\naws_secret_access_key = " << secret << "\n";
    auto values = environment();
    values["AWS_SHARED_CREDENTIALS_FILE"] = file.string();
    values["AWS_PROFILE"] = "ci";
    AwsCredentialChain chain(lookup(values));
    auto credentials = chain.get();
    ASSERT_TRUE(credentials.ok()) << credentials.error().message;
    EXPECT_EQ(credentials->source, "shared-credentials-file");
    auto datastore = open(values);
    ASSERT_TRUE(datastore);
    auto content = datastore->artifact_content(linear_start, 0, "a_dict", 4096);
    ASSERT_TRUE(content.ok()) << content.error().message;
    EXPECT_EQ(content->substr(0, 1), "{");

    values.erase("AWS_PROFILE");  // the default profile's keys are wrong
    auto refused = open(values)->artifact_content(linear_start, 0, "a_dict", 4096);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().id, "MetaflowS3AccessDenied");
}

TEST_F(S3Datastore, CredentialsFromAContainerEndpointAreRefreshedBeforeExpiry) {
    auto values = environment();
    values["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server_->credentials_url();
    values["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "test-container-token";
    int before = server_->credentials_handed_out();
    auto datastore = open(values);
    ASSERT_TRUE(datastore);
    auto first = datastore->dag({"AccLinear_ui", "1", "_parameters", "1"});
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = datastore->dag({"AccLinear_ui", "1", "_parameters", "1"});
    ASSERT_TRUE(second.ok()) << second.error().message;
    // They expire in 5 minutes, inside the 10-minute refresh margin: every request refreshes.
    EXPECT_GE(server_->credentials_handed_out() - before, 2);

    values["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong-token";
    auto refused = open(values)->dag({"AccLinear_ui", "1", "_parameters", "1"});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().id, "MetaflowS3AccessDenied");
}

TEST_F(S3Datastore, LongLivedCredentialsAreFetchedOnce) {
    AwsCredentialChain chain(
        lookup({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server_->credentials_url()},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-container-token"}}),
        std::chrono::seconds(60));
    int before = server_->credentials_handed_out();
    ASSERT_TRUE(chain.get().ok());
    ASSERT_TRUE(chain.get().ok());
    EXPECT_EQ(server_->credentials_handed_out() - before, 1);
    EXPECT_EQ(chain.get()->session_token, "container-session-token");
}

TEST_F(S3Datastore, CredentialsFromAWebIdentityTokenExchangedAtSts) {
    auto token_file = server_->folder() / "web-identity-token";
    std::ofstream(token_file) << kWebIdentityToken << "\n";
    auto values = environment();
    values["AWS_WEB_IDENTITY_TOKEN_FILE"] = token_file.string();
    values["AWS_ROLE_ARN"] = kWebIdentityRole;
    values["AWS_ENDPOINT_URL_STS"] = server_->sts_url();
    expect_temporary_credentials(values, "web-identity", "web-identity-session-token");
    auto dag = open(values)->dag({"AccLinear_ui", "1", "_parameters", "1"});
    ASSERT_TRUE(dag.ok()) << dag.error().message;
    EXPECT_EQ(dag->as_object().at("file"), "acc_linear.py");

    // A token STS does not accept gets no keys, and S3 is not asked unsigned.
    std::ofstream(token_file, std::ios::trunc) << "a-forged-token\n";
    auto refused = open(values)->dag({"AccLinear_ui", "1", "_parameters", "1"});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().id, "MetaflowS3AccessDenied");
    EXPECT_NE(refused.error().message.find("InvalidIdentityToken"), std::string::npos)
        << refused.error().message;
}

TEST_F(S3Datastore, CredentialsFromInstanceMetadataWithAnImdsV2SessionToken) {
    auto values = environment();
    values.erase("AWS_EC2_METADATA_DISABLED");
    values["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server_->instance_metadata_url();
    // The server answers the role's credentials only to requests carrying the session token
    // of PUT /latest/api/token.
    expect_temporary_credentials(values, "instance-metadata", "instance-session-token");
    auto content = open(values)->artifact_content(linear_start, 0, "a_dict", 4096);
    ASSERT_TRUE(content.ok()) << content.error().message;
    EXPECT_EQ(content->substr(0, 1), "{");

    values["AWS_EC2_METADATA_DISABLED"] = "true";
    auto refused = open(values)->artifact_content(linear_start, 0, "a_dict", 4096);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().id, "MetaflowS3AccessDenied");
}

TEST_F(S3Datastore, AnUnreachableEndpointFailsAfterBoundedRetries) {
    auto credentials = std::make_shared<AwsCredentialChain>(lookup(with_environment_keys()));
    S3Options options{
        .endpoint_url = "http://127.0.0.1:" + std::to_string(mf::testing::free_port()),
        .max_attempts = 3,
        .first_backoff = std::chrono::milliseconds(1)};
    auto store = S3Store::open(std::string("s3://") + bucket + "/metaflow", options, credentials);
    ASSERT_TRUE(store);
    auto read = store->read("AccLinear_ui/1/start/2/0.data.json", 1 << 20);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().id, "MetaflowS3Exception");
    EXPECT_EQ(read.error().kind, ErrorKind::unavailable);
}

TEST_F(S3Datastore, WorkRunsOnThePoolAndResumesOnTheCallersLoop) {
    auto datastore = open(with_environment_keys());
    ASSERT_TRUE(datastore);
    WorkerPool pool(2);
    boost::asio::io_context loop;
    std::thread::id loop_thread, worker_thread, resumed_thread;
    std::optional<Result<boost::json::value>> dag;
    boost::asio::co_spawn(
        loop,
        [&]() -> boost::asio::awaitable<void> {
            loop_thread = std::this_thread::get_id();
            dag = co_await pool.run([&] {
                worker_thread = std::this_thread::get_id();
                return datastore->dag({"AccLinear_ui", "1", "_parameters", "1"});
            });
            resumed_thread = std::this_thread::get_id();
        },
        boost::asio::detached);
    loop.run();
    ASSERT_TRUE(dag.has_value());
    ASSERT_TRUE(dag->ok());
    EXPECT_EQ(dag->value().as_object().at("file"), "acc_linear.py");
    EXPECT_NE(worker_thread, loop_thread);
    EXPECT_EQ(resumed_thread, loop_thread);
}

}  // namespace
}  // namespace mf::datastore::testing
