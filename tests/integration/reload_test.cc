// Reloading definitions without a restart (SIGHUP and POST /-/reload):
// unchanged metrics keep their state, a changed or new one starts empty, and
// an invalid file keeps the old definitions running.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"

namespace nsmd {
namespace {

using testing::AwaitMetrics;

std::string Track(const std::string& event, const std::string& user, int second) {
  return absl::StrCat(R"({"event":")", event, R"(","userId":")", user, R"(","messageId":")", event,
                      user, second, R"(","timestamp":"2024-01-02T10:00:)",
                      absl::StrFormat("%02d", second), R"(Z"})");
}

constexpr const char* kEdits = testing::kEditsAndEditorsMetrics;

std::string Value(const std::string& metric) {
  return absl::StrCat(R"(nsm_metric_value{metric=")", metric, R"(",window="current"})");
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-reload");
    auto broker = testing::StartBroker("events", 2, &bootstrap_);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    port_ = testing::FreePort();
    config_ = (dir_ / "nsmd.yaml").string();
  }
  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void WriteConfig(const std::string& metrics) {
    std::ofstream(config_, std::ios::trunc) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: reload
state:
  dir: )", (dir_ / "state").string(), R"(
  checkpoint_interval: 100ms
http:
  listen: 127.0.0.1:)", port_, "\nmetrics:", metrics);
  }

  void Produce(const std::string& event, const std::string& user, int second) {
    ASSERT_TRUE(producer_->Produce("events", user, Track(event, user, second)).ok());
    ASSERT_TRUE(producer_->Flush(absl::Seconds(30)).ok());
  }

  std::filesystem::path dir_;
  std::string bootstrap_, config_;
  int port_ = 0;
  std::unique_ptr<testing::Subprocess> broker_, nsmd_;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(ReloadTest, SighupKeepsUnchangedMetricsAndStartsChangedOnesEmpty) {
  WriteConfig(absl::StrCat(kEdits, R"(
  - name: comments
    filter: {event: comment_added}
    measure: events
    window: lifetime
)"));
  const std::string log = (dir_ / "nsmd.log").string();
  auto nsmd = testing::StartNsmd(config_, log, {"--enable-reload-endpoint"});
  ASSERT_TRUE(nsmd.ok()) << nsmd.status();
  nsmd_ = std::move(*nsmd);
  Produce("file_edited", "u1", 1);
  Produce("file_edited", "u2", 2);
  Produce("comment_added", "u1", 3);
  // edits 2 (u1, u2), editors 2, comments 1.
  ASSERT_TRUE(AwaitMetrics(port_, {{Value("edits"), 2}, {Value("editors"), 2},
                                   {Value("comments"), 1}})
                  .ok());

  // `comments` now counts distinct commenters (a new definition: starts
  // empty); `viewers` is new; edits and editors are unchanged except for
  // their description (metadata does not reset state).
  const std::string second = absl::StrCat(kEdits, R"(    description: "people who edited, ever"
  - name: comments
    filter: {event: comment_added}
    measure: {distinct: userId}
    window: lifetime
  - name: viewers
    filter: {event: page_viewed}
    measure: {distinct: userId}
    window: lifetime
)");
  WriteConfig(second);
  nsmd_->Signal(SIGHUP);
  ASSERT_TRUE(AwaitMetrics(port_, {{Value("edits"), 2}, {Value("editors"), 2},
                                   {Value("comments"), 0}, {Value("viewers"), 0},
                                   {"nsmd_config_last_reload_successful", 1}})
                  .ok());
  Produce("comment_added", "u3", 4);
  Produce("page_viewed", "u3", 5);
  Produce("file_edited", "u3", 6);
  // edits 3, editors 3 (u1..u3); comments counts since the reload: u3 -> 1;
  // viewers 1.
  ASSERT_TRUE(AwaitMetrics(port_, {{Value("edits"), 3}, {Value("editors"), 3},
                                   {Value("comments"), 1}, {Value("viewers"), 1}})
                  .ok());
  EXPECT_TRUE(absl::StrContains(testing::ReadFile(log), "comments starts empty"))
      << testing::ReadFile(log);

  // An invalid file (unknown key) is refused: the old definitions keep
  // running and the gauge says the reload failed. This time via HTTP, which
  // answers once the reload has run: 500 with the error's position. The
  // file's line 1 is empty (WriteConfig starts with a newline), kafka takes
  // lines 2-5, state 6-8, http 9-10, "metrics:" is line 11, kEdits lines
  // 12-20, so the typo is on line 21, indented by 4: column 5.
  WriteConfig(absl::StrCat(kEdits, "    measure_typo: events\n"));
  auto reload = testing::HttpRequest(port_, "POST", "/-/reload");
  ASSERT_TRUE(reload.ok());
  EXPECT_EQ(reload->status, 500) << reload->body;
  EXPECT_TRUE(absl::StrContains(reload->body, absl::StrCat(config_, ":21:5: ")))
      << reload->body;
  // The gauge was set before the answer.
  auto metrics = testing::HttpRequest(port_, "GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(
      testing::PrometheusValue(metrics->body, "nsmd_config_last_reload_successful").value_or(-1),
      0);
  Produce("file_edited", "u4", 7);
  ASSERT_TRUE(AwaitMetrics(port_, {{Value("edits"), 4}, {Value("editors"), 4},
                                   {Value("comments"), 1}, {Value("viewers"), 1}})
                  .ok());
  EXPECT_TRUE(absl::StrContains(testing::ReadFile(log), "nsmd.yaml:")) << testing::ReadFile(log);

  // The valid file again over HTTP: 200 once reloaded; nothing changed, so
  // every metric keeps its value.
  WriteConfig(second);
  reload = testing::HttpRequest(port_, "POST", "/-/reload");
  ASSERT_TRUE(reload.ok());
  EXPECT_EQ(reload->status, 200) << reload->body;
  EXPECT_EQ(reload->body, "reloaded\n");
  ASSERT_TRUE(AwaitMetrics(port_, {{Value("edits"), 4}, {Value("editors"), 4},
                                   {Value("comments"), 1}, {Value("viewers"), 1},
                                   {"nsmd_config_last_reload_successful", 1}})
                  .ok());

  const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(10));
  EXPECT_TRUE(stopped.ok()) << stopped;
}

}  // namespace
}  // namespace nsmd
