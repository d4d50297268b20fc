// End to end over real TCP: `nsmd broker` and `nsmd run` as processes, a
// librdkafka producer writing hand-made events, /metrics scraped over HTTP.
// Covers the failure "a restart loses or double-counts events": nsmd is
// stopped with SIGTERM, restarted on the same state dir, fed more events, and
// every value must reflect each event exactly once. Each test runs with
// both kafka.assignment modes: partitions from the consumer group, and every
// partition assigned by nsmd itself.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using testing::HttpRequest;
using testing::Subprocess;

constexpr char kTopic[] = "events";

std::string TrackEvent(const std::string& event, const std::string& user, const std::string& team,
                       const std::string& timestamp) {
  return absl::StrCat(R"({"type":"track","event":")", event, R"(","userId":")", user,
                      R"(","context":{"groupId":")", team, R"("},"timestamp":")", timestamp,
                      R"(","messageId":")", user, "-", timestamp, R"("})");
}

// The parameter is kafka.assignment: "group" or "all".
class KafkaRestartTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-it");
    auto broker = testing::StartBroker(kTopic, 4, &bootstrap_);
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    port_ = testing::FreePort();
    config_ = (dir_ / "nsmd.yaml").string();
    WriteConfig("200ms");
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_OK(producer);
    producer_ = std::move(*producer);
  }

  // (Re)writes the config with state.checkpoint_interval `interval`.
  void WriteConfig(const std::string& interval) {
    // clang-format off
    std::ofstream(config_) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: it-group
  assignment: )", GetParam(), R"(
state:
  dir: )", (dir_ / "state").string(), R"(
  checkpoint_interval: )", interval, R"(
http:
  listen: 127.0.0.1:)", port_, R"(
time:
  zone: UTC
  week_start: monday
  allowed_lateness: 1h
metrics:
  - name: active_teams
    role: north_star
    filter: {event: [file_edited, comment_added]}
    measure: {entities: context.groupId, having: "distinct(userId) > 3"}
    window: {tumbling: week}
  - name: weekly_active_users
    role: input
    filter: {event: [file_edited, comment_added]}
    measure: {distinct: userId}
    window: {tumbling: week}
  - name: edits
    role: input
    filter: {event: file_edited}
    measure: events
    window: {tumbling: day}
)");
    // clang-format on
  }

  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Produce(const std::string& key, const std::string& payload) {
    ASSERT_OK(producer_->Produce(kTopic, key, payload));
  }

  void StartNsmd() {
    auto nsmd = testing::StartNsmd(config_);
    ASSERT_OK(nsmd);
    nsmd_ = std::move(*nsmd);
  }

  // SIGTERM; expects exit 0 within 10 s.
  void StopNsmd() {
    const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(10));
    EXPECT_OK(stopped);
    nsmd_.reset();
  }

  // Scrapes /metrics until every expected series has its value (or 60 s).
  void ExpectMetrics(const std::map<std::string, double>& expected) {
    const absl::Status matched = testing::AwaitMetrics(port_, expected, absl::Seconds(60));
    EXPECT_OK(matched);
  }

  std::filesystem::path dir_;
  std::string bootstrap_;
  std::string config_;
  int port_ = 0;
  std::unique_ptr<Subprocess> broker_;
  std::unique_ptr<Subprocess> nsmd_;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_P(KafkaRestartTest, SigtermAndRestartCountEveryEventExactlyOnce) {
  // Week of Monday 2024-01-01; all events on Tuesday 2024-01-02.
  // Team A: a1..a4 edit (4 distinct users > 3: active). Team B: b1..b3
  // comment (3 users: not active). Plus two bad messages.
  for (int i = 1; i <= 4; ++i) {
    std::string u = absl::StrCat("a", i);
    Produce(u, TrackEvent("file_edited", u, "A", absl::StrCat("2024-01-02T10:0", i, ":00Z")));
  }
  for (int i = 1; i <= 3; ++i) {
    std::string u = absl::StrCat("b", i);
    Produce(u, TrackEvent("comment_added", u, "B", absl::StrCat("2024-01-02T10:1", i, ":00Z")));
  }
  Produce("x", "this is not json");
  Produce("y", R"({"event":"file_edited","userId":"z","timestamp":"2024-13-45T00:00:00Z"})");
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));

  StartNsmd();
  // 9 consumed, 7 applied; active_teams 1 (A), WAU 7, edits on Tuesday 4.
  ExpectMetrics({
      {"nsmd_events_consumed_total", 9},
      {"nsmd_events_applied_total", 7},
      {R"(nsmd_events_rejected_total{reason="invalid_json"})", 1},
      {R"(nsmd_events_rejected_total{reason="bad_timestamp"})", 1},
      {R"(nsm_metric_value{metric="active_teams",window="current"})", 1},
      {R"(nsm_metric_value{metric="weekly_active_users",window="current"})", 7},
      {R"(nsm_metric_value{metric="edits",window="current"})", 4},
      // Stream time 2024-01-02T10:13:00Z = 1704067200 + 86400 + 36780.
      {"nsmd_stream_time_seconds", 1704190380},
  });
  auto ready = HttpRequest(port_, "GET", "/readyz");
  ASSERT_OK(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  StopNsmd();

  // While nsmd is down: b4 edits (B reaches 4 users), a1 edits again.
  Produce("b4", TrackEvent("file_edited", "b4", "B", "2024-01-02T11:00:00Z"));
  Produce("a1", TrackEvent("file_edited", "a1", "A", "2024-01-02T11:01:00Z"));
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));

  StartNsmd();
  // The new process reads only the 2 new messages; totals include all:
  // active_teams 2, WAU 8 (b4 new), edits 4 + 2 = 6.
  ExpectMetrics({
      {"nsmd_events_consumed_total", 2},
      {R"(nsm_metric_value{metric="active_teams",window="current"})", 2},
      {R"(nsm_metric_value{metric="weekly_active_users",window="current"})", 8},
      {R"(nsm_metric_value{metric="edits",window="current"})", 6},
  });
  StopNsmd();
}

// Graceful stop: with periodic checkpoints out of the way (1h), only the
// final checkpoint on SIGTERM can persist what was consumed. A restart must
// then read nothing again.
TEST_P(KafkaRestartTest, SigtermPersistsEverythingInTheFinalCheckpoint) {
  WriteConfig("1h");
  // a1..a4 edit on Tuesday 2024-01-02 (team A: 4 users > 3, active).
  for (int i = 1; i <= 4; ++i) {
    std::string u = absl::StrCat("a", i);
    Produce(u, TrackEvent("file_edited", u, "A", absl::StrCat("2024-01-02T10:0", i, ":00Z")));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  StartNsmd();
  // 4 consumed and applied: active_teams 1, WAU 4, edits 4.
  ExpectMetrics({
      {"nsmd_events_consumed_total", 4},
      {R"(nsm_metric_value{metric="active_teams",window="current"})", 1},
      {R"(nsm_metric_value{metric="weekly_active_users",window="current"})", 4},
      {R"(nsm_metric_value{metric="edits",window="current"})", 4},
  });
  StopNsmd();  // exit 0 within 10 s

  StartNsmd();
  // Ready (partitions assigned, connected) with the values from the state.
  // Only a wait (as before): the values below are what is checked. That
  // nothing is read again shows after the next event (consumed 1, not 5),
  // not here: no wait could tell "read nothing" from "not read yet".
  testing::AwaitHttpStatus(port_, "/readyz", 200, absl::Seconds(60)).IgnoreError();
  ExpectMetrics({
      {"nsmd_events_consumed_total", 0},
      {R"(nsm_metric_value{metric="active_teams",window="current"})", 1},
      {R"(nsm_metric_value{metric="weekly_active_users",window="current"})", 4},
      {R"(nsm_metric_value{metric="edits",window="current"})", 4},
  });
  // One more event (b1, team B): had the final checkpoint not persisted the
  // first four, this process would read them again: consumed 5, not 1 (and
  // with dedup the values would not show it).
  Produce("b1", TrackEvent("file_edited", "b1", "B", "2024-01-02T11:00:00Z"));
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  ExpectMetrics({
      {"nsmd_events_consumed_total", 1},
      {"nsmd_events_duplicate_total", 0},
      {R"(nsm_metric_value{metric="active_teams",window="current"})", 1},
      {R"(nsm_metric_value{metric="weekly_active_users",window="current"})", 5},
      {R"(nsm_metric_value{metric="edits",window="current"})", 5},
  });
  StopNsmd();
}

INSTANTIATE_TEST_SUITE_P(Assignment, KafkaRestartTest, ::testing::Values("group", "all"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "group" ? "FromTheGroup" : "AllPartitions";
                         });

}  // namespace
}  // namespace nsmd
