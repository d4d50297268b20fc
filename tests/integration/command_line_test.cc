// `nsmd run` command line: --brokers, --state-dir and --listen override the
// config file, and kafka.properties reach librdkafka verbatim (an unknown
// property stops nsmd with a message naming it; a valid one is used).
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
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

class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-cli");
    config_ = (dir_ / "nsmd.yaml").string();
    port_ = testing::FreePort();
  }
  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartBroker() {
    auto broker = testing::StartBroker("events", 2, &bootstrap_);
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
  }

  void WriteConfig(const std::string& kafka_brokers, const std::string& state_dir,
                   const std::string& listen, const std::string& properties) {
    // clang-format off
    std::ofstream(config_) << absl::StrCat(R"(
kafka:
  brokers: )", kafka_brokers, R"(
  topics: [events]
  group_id: cli
)", properties, R"(
state:
  dir: )", state_dir, R"(
  checkpoint_interval: 100ms
http:
  listen: )", listen, "\nmetrics:", testing::kEditsAndEditorsMetrics);
    // clang-format on
  }

  // Produces one file_edited event and waits until `edits` counts 1.
  void ExpectOneEventCounted() {
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_OK(producer);
    ASSERT_OK((*producer)->Produce("events", "u1",
                                   R"({"event":"file_edited","userId":"u1","messageId":"m1",)"
                                   R"("timestamp":"2024-01-02T10:00:00Z"})"));
    ASSERT_OK((*producer)->Flush(absl::Seconds(10)));
    EXPECT_OK(testing::AwaitMetrics(port_,
                                    {{R"(nsm_metric_value{metric="edits",window="current"})", 1},
                                     {"nsmd_events_applied_total", 1}},
                                    absl::Seconds(20)));
  }

  // SIGTERM; expects exit 0 within 15 s.
  void Stop() {
    const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(15));
    EXPECT_OK(stopped);
    nsmd_.reset();
  }

  std::filesystem::path dir_;
  std::string config_, bootstrap_;
  int port_ = 0;
  std::unique_ptr<testing::Subprocess> broker_, nsmd_;
};

TEST_F(CommandLineTest, FlagsOverrideBrokersStateDirAndListen) {
  StartBroker();
  // Every one of the three would fail: nothing listens on port 1, the state
  // "dir" is a regular file (exit 3), port 70000 does not exist.
  const std::string not_a_dir = (dir_ / "not-a-dir").string();
  std::ofstream(not_a_dir) << "x";
  WriteConfig("127.0.0.1:1", not_a_dir, "127.0.0.1:70000", "");
  const std::string state = (dir_ / "state").string();
  auto nsmd = testing::StartNsmd(config_, "",
                                 {"--brokers", bootstrap_, "--state-dir", state, "--listen",
                                  absl::StrCat("127.0.0.1:", port_)});
  ASSERT_OK(nsmd);
  nsmd_ = std::move(*nsmd);
  // Answering on the --listen port and ready (partitions of the --brokers
  // broker assigned, state loaded from --state-dir).
  ASSERT_OK(testing::AwaitHttpStatus(port_, "/readyz", 200, absl::Seconds(20)));
  auto status = testing::HttpRequest(port_, "GET", "/api/v1/status");
  ASSERT_OK(status);
  EXPECT_TRUE(absl::StrContains(status->body, absl::StrCat(R"("brokers":")", bootstrap_, "\"")))
      << status->body;
  EXPECT_TRUE(absl::StrContains(status->body, absl::StrCat(R"("state_dir":")", state, "\"")))
      << status->body;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(state) / "CURRENT"));
  ExpectOneEventCounted();
  Stop();
}

TEST_F(CommandLineTest, UnknownKafkaPropertyStopsNsmdNamingIt) {
  StartBroker();
  WriteConfig(bootstrap_, (dir_ / "state").string(), absl::StrCat("127.0.0.1:", port_),
              "  properties:\n    no.such.librdkafka.property: \"1\"\n");
  testing::CommandOutput out = testing::RunNsmdCommand(absl::StrCat("run --config ", config_));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_TRUE(absl::StrContains(out.err, "no.such.librdkafka.property")) << out.err;
}

TEST_F(CommandLineTest, ValidKafkaPropertyIsAccepted) {
  StartBroker();
  WriteConfig(bootstrap_, (dir_ / "state").string(), absl::StrCat("127.0.0.1:", port_),
              "  properties:\n    fetch.wait.max.ms: \"50\"\n");
  const std::string log = (dir_ / "nsmd.log").string();
  auto nsmd = testing::StartNsmd(config_, log);
  ASSERT_OK(nsmd);
  nsmd_ = std::move(*nsmd);
  ASSERT_OK(testing::AwaitHttpStatus(port_, "/readyz", 200, absl::Seconds(20)))
      << testing::ReadFile(log);
  // The topic is still empty, so every checkpoint (each 100 ms) has nothing
  // to write: they succeed all the same and say when.
  std::string body;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && !absl::StrContains(body, R"("last_checkpoint":")")) {
    absl::SleepFor(absl::Milliseconds(100));
    auto status = testing::HttpRequest(port_, "GET", "/api/v1/status");
    body = status.ok() ? status->body : "";
  }
  EXPECT_TRUE(absl::StrContains(body, R"("last_checkpoint":")")) << body;
  auto metrics = testing::HttpRequest(port_, "GET", "/metrics");
  ASSERT_OK(metrics);
  EXPECT_GT(
      testing::PrometheusValue(metrics->body, "nsmd_last_checkpoint_timestamp_seconds").value_or(0),
      0);
  ExpectOneEventCounted();
  Stop();
  EXPECT_FALSE(absl::StrContains(testing::ReadFile(log), "fetch.wait.max.ms"))
      << testing::ReadFile(log);
}

}  // namespace
}  // namespace nsmd
