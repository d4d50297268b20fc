// Faults a production daemon meets, each over real processes and TCP:
// poison messages (dead-letter topic), a broker outage, a full disk, secrets
// in the config, and state dirs that cannot be used.
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using testing::AwaitHttpStatus;
using testing::AwaitMetrics;
using testing::HttpRequest;
using testing::PrometheusValue;
using testing::Subprocess;

std::string Edit(const std::string& user, const std::string& time) {
  return absl::StrCat(R"({"event":"file_edited","userId":")", user, R"(","messageId":")", user, "-",
                      time, R"(","timestamp":")", time, R"(","context":{"groupId":"t1"}})");
}

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("nsmd-faults"); }
  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    if (!mounted_.empty()) umount2(mounted_.c_str(), MNT_DETACH);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void StartBroker(const std::string& topics) {
    auto broker = testing::StartBroker(topics, 2, &bootstrap_);
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_OK(producer);
    producer_ = std::move(*producer);
  }

  // Writes the config: `extra_kafka` lines go under kafka:, `state_dir`
  // defaults to DIR/state.
  std::string WriteConfig(const std::string& extra_kafka, const std::string& state_dir = "",
                          const std::string& group = "faults") {
    port_ = testing::FreePort();
    const std::string path = (dir_ / absl::StrCat("nsmd-", group, ".yaml")).string();
    std::ofstream(path) << absl::StrCat(
        "kafka:\n  brokers: ", bootstrap_.empty() ? "127.0.0.1:1" : bootstrap_,
        "\n  topics: [events]\n  group_id: ", group, "\n", extra_kafka,
        "state:\n  dir: ", state_dir.empty() ? (dir_ / "state").string() : state_dir,
        "\n  checkpoint_interval: 100ms\nhttp:\n  listen: 127.0.0.1:", port_,
        // Lifetime counts, easy to derive.
        "\nmetrics:", testing::kEditsAndEditorsMetrics);
    return path;
  }

  void StartNsmd(const std::string& config, const std::string& log = "") {
    auto nsmd = testing::StartNsmd(config, log);
    ASSERT_OK(nsmd);
    nsmd_ = std::move(*nsmd);
  }

  // SIGTERM; expects exit 0 within 10 s.
  void StopNsmd() {
    const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(10));
    EXPECT_OK(stopped);
    nsmd_.reset();
  }

  void Produce(const std::string& key, const std::string& payload) {
    ASSERT_OK(producer_->Produce("events", key, payload));
    ASSERT_OK(producer_->Flush(absl::Seconds(30)));
  }

  std::filesystem::path dir_;
  std::filesystem::path mounted_;  // a tmpfs to unmount, if any
  std::string bootstrap_;
  int port_ = 0;
  std::unique_ptr<Subprocess> broker_;
  std::unique_ptr<Subprocess> nsmd_;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(FaultsTest, PoisonMessagesAreCountedAndDeadLetteredWithTheirOrigin) {
  StartBroker("events,dead-letters");
  StartNsmd(WriteConfig("  max_message_bytes: 2000\n  dead_letter_topic: dead-letters\n"));
  Produce("u1", Edit("u1", "2024-01-02T10:00:00Z"));
  Produce("bad", "not json at all");
  // Valid JSON, but 3000 bytes: over the 2000-byte limit, rejected unparsed.
  Produce("big", absl::StrCat(R"({"event":"file_edited","userId":"u9","timestamp":)",
                              R"("2024-01-02T10:00:00Z","pad":")", std::string(2900, 'x'), "\"}"));
  // Oversized and over 64 KiB: dead-lettered cut to its first 65536 bytes.
  // {"pad":" (8 bytes) + 70000 'y' + "} (2 bytes) = 70010 bytes.
  Produce("huge", absl::StrCat(R"({"pad":")", std::string(70000, 'y'), "\"}"));
  Produce("u2", Edit("u2", "2024-01-02T10:01:00Z"));
  // 5 consumed; the two good ones applied: edits 2, editors 2.
  ASSERT_OK(AwaitMetrics(port_, {{"nsmd_events_consumed_total", 5},
                                 {"nsmd_events_applied_total", 2},
                                 {R"(nsmd_events_rejected_total{reason="invalid_json"})", 1},
                                 {R"(nsmd_events_rejected_total{reason="oversized"})", 2},
                                 {"nsmd_events_dead_lettered_total", 3},
                                 {R"(nsm_metric_value{metric="edits",window="current"})", 2}}));
  StopNsmd();  // the final checkpoint flushes the dead letters

  // Read the dead-letter topic with kcat, an independent client.
  FILE* kcat = popen(absl::StrCat("kcat -C -b ", bootstrap_,
                                  " -t dead-letters -o beginning -e -q -f '%k|%h|%s\\n' 2>&1")
                         .c_str(),
                     "r");
  ASSERT_NE(kcat, nullptr);
  std::string lines;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, kcat)) > 0) lines.append(buf, n);
  pclose(kcat);
  EXPECT_TRUE(absl::StrContains(lines, "nsmd-reject-reason=invalid_json")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, "nsmd-reject-reason=oversized")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, "nsmd-source-topic=events")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, "nsmd-source-offset=")) << lines;
  // Each with the key it was produced with.
  EXPECT_TRUE(absl::StrContains(lines, "\nbad|") || absl::StartsWith(lines, "bad|")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, "|not json at all\n")) << lines;
  EXPECT_TRUE(absl::StrContains(lines, std::string(2900, 'x'))) << "oversized bytes not kept";
  EXPECT_FALSE(absl::StrContains(lines, "nsmd-truncated-from=3")) << "3000 bytes were cut";
  // The huge one: key, truncation header, and exactly its first 65536 bytes.
  const size_t huge = lines.find("huge|");
  ASSERT_NE(huge, std::string::npos) << "no dead letter keyed \"huge\"";
  const size_t payload = lines.find('|', huge + 5) + 1;
  const std::string huge_headers = lines.substr(huge + 5, payload - 1 - (huge + 5));
  EXPECT_TRUE(absl::StrContains(huge_headers, "nsmd-truncated-from=70010")) << huge_headers;
  EXPECT_EQ(lines.substr(payload, lines.find('\n', payload) - payload),
            absl::StrCat(R"({"pad":")", std::string(65536 - 8, 'y')));
}

TEST_F(FaultsTest, BrokerOutageKeepsServingMarksNotReadyAndLosesNothing) {
  StartBroker("events");
  StartNsmd(WriteConfig(""));
  Produce("u1", Edit("u1", "2024-01-02T10:00:00Z"));
  Produce("u2", Edit("u2", "2024-01-02T10:01:00Z"));
  Produce("u1", Edit("u1", "2024-01-02T10:02:00Z"));
  // 3 edits by 2 editors.
  ASSERT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 3},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 2}}));
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 200));

  // `nsmd broker` takes its brokers down on SIGUSR1 and up on SIGUSR2.
  broker_->Signal(SIGUSR1);
  const absl::Time down_at = absl::Now();
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 503, absl::Seconds(30)));
  // The last values keep being served while the broker is away.
  auto scrape = HttpRequest(port_, "GET", "/metrics");
  ASSERT_OK(scrape);
  EXPECT_EQ(*PrometheusValue(scrape->body, R"(nsm_metric_value{metric="edits",window="current"})"),
            3);
  absl::SleepFor(down_at + absl::Seconds(30) - absl::Now());
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 503, absl::Seconds(1)));
  broker_->Signal(SIGUSR2);

  Produce("u3", Edit("u3", "2024-01-02T10:03:00Z"));
  // 4 edits by 3 editors: resumed, nothing lost or repeated.
  ASSERT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 4},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 3}}));
  EXPECT_OK(AwaitHttpStatus(port_, "/readyz", 200));
  StopNsmd();
}

// SIGTERM while no broker is reachable: the final checkpoint goes to
// RocksDB (no broker needed) and leaving the group must not hang the stop.
TEST_F(FaultsTest, SigtermWhileTheBrokerIsDownStillExitsCleanly) {
  StartBroker("events");
  const std::string config = WriteConfig("");
  StartNsmd(config);
  Produce("u1", Edit("u1", "2024-01-02T10:00:00Z"));
  Produce("u2", Edit("u2", "2024-01-02T10:01:00Z"));
  // 2 edits by 2 editors.
  ASSERT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 2},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 2}}));
  broker_->Signal(SIGUSR1);  // brokers down
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 503, absl::Seconds(30)));
  StopNsmd();                // exit 0 within 10 s
  broker_->Signal(SIGUSR2);  // brokers up

  // Nothing lost, nothing read twice: the restart reads only u3's edit.
  StartNsmd(config);
  Produce("u3", Edit("u3", "2024-01-02T10:02:00Z"));
  EXPECT_OK(AwaitMetrics(port_, {{"nsmd_events_consumed_total", 1},
                                 {R"(nsm_metric_value{metric="edits",window="current"})", 3},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 3}}));
  StopNsmd();
}

TEST_F(FaultsTest, FullDiskPausesCheckpointsAndLosesNothing) {
  const std::filesystem::path disk = dir_ / "disk";
  std::filesystem::create_directories(disk);
  if (mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=16m") != 0) {
    GTEST_SKIP() << "needs permission to mount a small tmpfs (a real full disk): "
                 << std::strerror(errno);
  }
  mounted_ = disk;
  StartBroker("events");
  const std::string config = WriteConfig("", (disk / "state").string());
  StartNsmd(config);
  Produce("u1", Edit("u1", "2024-01-02T10:00:00Z"));
  ASSERT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 1}}));

  // Fill the disk to the last byte.
  const std::filesystem::path filler = disk / "filler";
  {
    std::ofstream fill(filler, std::ios::binary);
    const std::string block(64 << 10, '\0');
    while (fill.write(block.data(), block.size())) {
    }
    const std::string byte(1, '\0');
    fill.clear();
    while (fill.write(byte.data(), 1).flush()) {
    }
  }
  // 200 more editors: enough checkpoint data to need new pages of the
  // write-ahead log, which the full disk refuses (distinct members are
  // checkpointed as 16-byte hashes, so it takes more than a page's worth).
  for (int i = 2; i <= 201; ++i) {
    const std::string u = absl::StrCat("u", i);
    ASSERT_OK(producer_->Produce(
        "events", u,
        Edit(u, absl::StrFormat("2024-01-02T11:%02d:%02dZ", (i - 2) / 60, (i - 2) % 60))));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(30)));
  // Checkpoints fail: not ready, failures counted. The disk stays full
  // for three failed attempts: each retry reopens the database on it (an
  // earlier nsmd aborted there, inside RocksDB's own info log).
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 503, absl::Seconds(30)));
  double failures = 0;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       failures < 3 && absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(50))) {
    auto scrape = HttpRequest(port_, "GET", "/metrics");
    ASSERT_OK(scrape);
    failures = PrometheusValue(scrape->body, "nsmd_checkpoint_failures_total").value_or(0);
  }
  ASSERT_GE(failures, 3);
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 503, absl::Seconds(1)));

  // Free the space: checkpoints resume, everything is there.
  std::filesystem::remove(filler);
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 200, absl::Seconds(90)));
  Produce("u202", Edit("u202", "2024-01-02T12:00:00Z"));
  // u1, u2..u201, u202: 202 edits by 202 editors.
  ASSERT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 202},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 202}}));
  StopNsmd();
  // A restart finds exactly the same numbers in the state.
  StartNsmd(config);
  EXPECT_OK(AwaitMetrics(port_, {{R"(nsm_metric_value{metric="edits",window="current"})", 202},
                                 {R"(nsm_metric_value{metric="editors",window="current"})", 202},
                                 {"nsmd_events_consumed_total", 0}}));
  StopNsmd();
}

TEST_F(FaultsTest, SecretsNeverReachLogsStatusOrErrors) {
  StartBroker("events");
  const std::string log = (dir_ / "nsmd.log").string();
  StartNsmd(WriteConfig("  properties:\n    sasl.username: nsmd\n"
                        "    sasl.password: s3cr3t-hunter2\n"
                        "    ssl.key.password: s3cr3t-keypass\n"),
            log);
  ASSERT_OK(AwaitHttpStatus(port_, "/readyz", 200));
  auto status = HttpRequest(port_, "GET", "/api/v1/status");
  ASSERT_OK(status);
  EXPECT_TRUE(absl::StrContains(status->body, bootstrap_)) << status->body;
  EXPECT_FALSE(absl::StrContains(status->body, "s3cr3t")) << status->body;
  StopNsmd();

  // A bad property fails the start with a message naming the property, not
  // any value.
  const std::string bad_log = (dir_ / "bad.log").string();
  StartNsmd(WriteConfig("  properties:\n    sasl.password: s3cr3t-hunter2\n"
                        "    no.such.property: s3cr3t-value\n",
                        (dir_ / "state2").string(), "bad"),
            bad_log);
  auto exit_status = nsmd_->Wait(absl::Seconds(10));
  ASSERT_OK(exit_status);
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 1);
  nsmd_.reset();
  const std::string bad = testing::ReadFile(bad_log);
  EXPECT_TRUE(absl::StrContains(bad, "no.such.property")) << bad;
  EXPECT_FALSE(absl::StrContains(bad, "s3cr3t")) << bad;
  EXPECT_FALSE(absl::StrContains(testing::ReadFile(log), "s3cr3t"));

  // librdkafka quotes a malformed sasl.oauthbearer.config in its error
  // ("Unrecognized sasl.oauthbearer.config beginning at: <value>"), from the
  // consumer and from the dead-letter producer alike. Both redact the secret
  // and only the secret: the mechanism's name (another property's value)
  // stays readable.
  const std::string oauth_log = (dir_ / "oauth.log").string();
  StartNsmd(WriteConfig("  dead_letter_topic: dead-letters\n"
                        "  properties:\n    security.protocol: SASL_PLAINTEXT\n"
                        "    sasl.mechanism: OAUTHBEARER\n"
                        "    enable.sasl.oauthbearer.unsecure.jwt: \"true\"\n"
                        "    sasl.oauthbearer.config: s3cr3t-oauth\n",
                        (dir_ / "state3").string(), "oauth"),
            oauth_log);
  const std::string kRedactedError =
      "Failed to acquire SASL OAUTHBEARER token: Unrecognized sasl.oauthbearer.config beginning "
      "at: <redacted>";
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    text = testing::ReadFile(oauth_log);
    // Both clients have reported the bad token (the producer's lines are
    // "nsmd: kafka producer: ...").
    if (absl::StrContains(text, "kafka producer: librdkafka") &&
        absl::StrContains(text, "nsmd: kafka: _AUTHENTICATION: " + kRedactedError)) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  nsmd_->Signal(SIGKILL);  // it cannot authenticate, so it would not stop cleanly anyway
  ASSERT_OK(nsmd_->Wait(absl::Seconds(10)));
  nsmd_.reset();
  text = testing::ReadFile(oauth_log);
  EXPECT_TRUE(absl::StrContains(text, "nsmd: kafka: _AUTHENTICATION: " + kRedactedError)) << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "nsmd: kafka producer: librdkafka ERROR (level 3): "
                                "[thrd:app]: " +
                                    kRedactedError))
      << text;
  EXPECT_FALSE(absl::StrContains(text, "s3cr3t")) << text;
}

// Exit code 3 and a message saying what to do, for each unusable state dir.
TEST_F(FaultsTest, UnusableStateDirsFailClearlyWithExitCode3) {
  const std::string log = (dir_ / "nsmd.log").string();
  auto expect_state_failure = [&](const std::string& config, const std::string& words) {
    std::filesystem::remove(log);
    StartNsmd(config, log);
    auto status = nsmd_->Wait(absl::Seconds(20));
    ASSERT_OK(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 3) << testing::ReadFile(log);
    EXPECT_TRUE(absl::StrContains(testing::ReadFile(log), words)) << testing::ReadFile(log);
    nsmd_.reset();
  };
  // A missing state dir is created, and the log says what that means.
  const std::string shared = (dir_ / "new" / "shared").string();
  StartNsmd(WriteConfig("", shared, "a"), log);
  ASSERT_OK(AwaitHttpStatus(port_, "/healthz", 200));
  StopNsmd();
  EXPECT_TRUE(absl::StrContains(testing::ReadFile(log),
                                absl::StrCat("created a new empty state in \"", shared,
                                             "\": every partition starts from "
                                             "kafka.start_offset (earliest)")))
      << testing::ReadFile(log);
  // The same dir again: nothing new is created.
  std::filesystem::remove(log);
  StartNsmd(WriteConfig("", shared, "a"), log);
  ASSERT_OK(AwaitHttpStatus(port_, "/healthz", 200));
  StopNsmd();
  EXPECT_FALSE(absl::StrContains(testing::ReadFile(log), "created a new empty state"));

  // A state dir written for consumer group "a" refuses group "b".
  expect_state_failure(WriteConfig("", shared, "b"),
                       "holds state for config identity \"a\", not \"b\". To rebuild");
  // ... and the same group with another calendar or other topics (the state
  // was written with the defaults: UTC, weeks from Monday, [events]).
  auto with = [&](const std::string& from, const std::string& to, const std::string& append) {
    const std::string path = WriteConfig("", shared, "a");
    std::string text = testing::ReadFile(path);
    if (!from.empty()) text.replace(text.find(from), from.size(), to);
    std::ofstream(path, std::ios::trunc) << text << append;
    return path;
  };
  expect_state_failure(with("", "", "time: {zone: Europe/Berlin}\n"),
                       "time.zone is \"UTC\" in the state dir but \"Europe/Berlin\" in the "
                       "config");
  expect_state_failure(with("", "", "time: {week_start: sunday}\n"),
                       "time.week_start is \"monday\" in the state dir but \"sunday\" in the "
                       "config");
  expect_state_failure(with("topics: [events]", "topics: [events, clicks]", ""),
                       "kafka.topics is \"events\" in the state dir but \"clicks,events\" in "
                       "the config");
  expect_state_failure(with("", "", "time: {zone: Europe/Berlin}\n"),
                       "(README \"Rebuilding state\"), stop nsmd and delete");
  // A file where the dir should be.
  std::ofstream(dir_ / "a-file") << "x";
  expect_state_failure(WriteConfig("", (dir_ / "a-file").string(), "c"), "a-file");
  // A corrupt database: its CURRENT file names a manifest that is not there.
  std::ofstream(std::filesystem::path(shared) / "CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  expect_state_failure(WriteConfig("", shared, "a"), "shared");
}

}  // namespace
}  // namespace nsmd
