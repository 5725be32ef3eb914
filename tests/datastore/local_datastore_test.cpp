#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "datastore/local_store.hpp"
#include "datastore/trace_checks.hpp"
#include "datastore/trace_support.hpp"

namespace mf::datastore::testing {
namespace {

Datastore fixture_datastore() {
    return Datastore(std::make_shared<LocalStore>(fixture_root()),
                     std::make_shared<LocalStore>(fixture_root() / "mf.cards"));
}

// The recorded reference exchanges hold this many of each kind; every one is compared.
TEST(LocalDatastore, ArtifactContentsMatchTheReference) {
    EXPECT_EQ(check_artifact_contents(fixture_datastore()), 237);
}

TEST(LocalDatastore, ParametersMatchTheReference) {
    EXPECT_EQ(check_parameters(fixture_datastore()), 14);
}

TEST(LocalDatastore, DagsMatchTheReference) {
    EXPECT_EQ(check_dags(fixture_datastore()), 13);
}

TEST(LocalDatastore, LogPagesMatchTheReference) {
    EXPECT_EQ(check_logs(fixture_datastore()), 34);
}

TEST(LocalDatastore, LogDownloadsMatchTheReference) {
    EXPECT_EQ(check_log_downloads(fixture_datastore()), 6);
}

TEST(LocalDatastore, TaskRefinementMatchesTheReference) {
    EXPECT_EQ(check_task_refinement(fixture_datastore()), 90);
}

TEST(LocalDatastore, CardsMatchTheReference) {
    EXPECT_EQ(check_cards(fixture_datastore()), 7);
}

TEST(LocalDatastore, CardHtmlIsTheFileAsWritten) {
    auto datastore = fixture_datastore();
    TaskPath task{"UiCardFlow_ui", "15", "start", "96"};
    auto html = datastore.card_html(task, "5983c22fbb894ca9bc0ea19e048f90fd");
    ASSERT_TRUE(html.ok()) << html.error().message;
    std::ifstream in(fixture_root() / "mf.cards" / card_folder(task) / "cards" /
                     "blank-custom-5983c22fbb894ca9bc0ea19e048f90fd.html");
    std::stringstream file;
    file << in.rdbuf();
    EXPECT_EQ(*html, file.str());
    auto missing = datastore.card_html(task, "0123456789abcdef");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

TEST(LocalDatastore, EveryArtifactBlobDecodes) {
    auto datastore = fixture_datastore();
    int decoded = 0, objects = 0;
    for (const auto& flow : std::filesystem::directory_iterator(fixture_root())) {
        auto data = flow.path() / "data";
        if (!std::filesystem::is_directory(data)) continue;
        for (const auto& blob : std::filesystem::recursive_directory_iterator(data)) {
            auto name = blob.path().filename().string();
            if (!blob.is_regular_file() || name.ends_with("_meta")) continue;
            SCOPED_TRACE(blob.path().string());
            auto value = datastore.load_value(flow.path().filename().string(), name);
            ASSERT_TRUE(value.ok()) << value.error().id << ": " << value.error().message;
            auto shown = python_str_via_json(*value);
            // Only the recorded exception objects are not JSON; all else renders.
            if (!shown.ok()) {
                EXPECT_EQ(shown.error().message,
                          "Object of type MetaflowExceptionWrapper is not JSON serializable");
                ++objects;
            }
            ++decoded;
        }
    }
    EXPECT_EQ(decoded, 260);
    EXPECT_GT(objects, 0);
}

TEST(LocalDatastore, MissingThingsAreNotFoundWithTheUiId) {
    auto datastore = fixture_datastore();
    TaskPath unknown{"AccLinear_ui", "1", "start", "99999"};
    auto artifacts = datastore.artifacts(unknown, 0);
    ASSERT_FALSE(artifacts.ok());
    EXPECT_EQ(artifacts.error().kind, ErrorKind::not_found);
    EXPECT_EQ(artifacts.error().id, "MetaflowNotFound");
    auto content = datastore.artifact_content({"AccLinear_ui", "1", "start", "2"}, 0, "nope", 4096);
    ASSERT_FALSE(content.ok());
    EXPECT_EQ(content.error().id, "MetaflowNotFound");
    auto lines = datastore.log(unknown, 0, LogStream::out);
    ASSERT_TRUE(lines.ok());
    EXPECT_TRUE(lines->empty());
    auto escape = datastore.artifacts({"..", "..", "..", "etc"}, 0);
    ASSERT_FALSE(escape.ok());
    EXPECT_EQ(escape.error().kind, ErrorKind::not_found);
}

TEST(LocalDatastore, LogSizeCountsBothSources) {
    auto datastore = fixture_datastore();
    TaskPath flaky{"AccRetry_ui", "5", "flaky", "49"};
    auto size = datastore.log_size(flaky, 0, LogStream::err);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, std::filesystem::file_size(fixture_root() / task_folder(flaky) /
                                                "0.runtime_stderr.log"));
}

}  // namespace
}  // namespace mf::datastore::testing
