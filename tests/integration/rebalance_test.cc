// A revoke/assign cycle between two nsmd instances of one consumer group.
// Instance A holds all partitions; B joins (A checkpoints on revoke and keeps
// half), events arrive, B leaves; A gets its partitions back, seeks to its
// OWN checkpointed offsets (not the group's committed ones, which B moved
// on) and so counts every event exactly once.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using testing::AwaitHttpStatus;
using testing::AwaitMetrics;
using testing::Subprocess;

std::string Edit(int user) {
  const std::string u = absl::StrCat("u", user);
  return absl::StrCat(R"({"event":"file_edited","userId":")", u, R"(","messageId":"m-)", user,
                      R"(","timestamp":"2024-01-02T10:00:)", absl::StrFormat("%02d", user),
                      R"(Z"})");
}

struct Instance {
  std::string config;
  int port = 0;
  std::unique_ptr<Subprocess> process;
};

class RebalanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-rebalance");
    auto broker = testing::StartBroker("events", 4, &bootstrap_);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    a_.process.reset();
    b_.process.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Configure(const std::string& name, Instance* instance) {
    instance->port = testing::FreePort();
    instance->config = (dir_ / (name + ".yaml")).string();
    std::ofstream(instance->config) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: rebalance
  properties: {session.timeout.ms: "6000"}
state:
  dir: )", (dir_ / name).string(), R"(
  checkpoint_interval: 100ms
http:
  listen: 127.0.0.1:)", instance->port, R"(
metrics:
  - name: edits
    role: north_star
    filter: {event: file_edited}
    measure: events
    window: lifetime
  - name: editors
    filter: {event: file_edited}
    measure: {distinct: userId}
    window: lifetime
)");
    auto process = testing::StartNsmd(instance->config);
    ASSERT_TRUE(process.ok()) << process.status();
    instance->process = std::move(*process);
  }

  void ProduceUsers(int first, int last) {
    for (int u = first; u <= last; ++u) {
      ASSERT_TRUE(producer_->Produce("events", absl::StrCat("u", u), Edit(u)).ok());
    }
    ASSERT_TRUE(producer_->Flush(absl::Seconds(30)).ok());
  }

  std::filesystem::path dir_;
  std::string bootstrap_;
  std::unique_ptr<Subprocess> broker_;
  std::unique_ptr<KafkaProducer> producer_;
  Instance a_, b_;
};

TEST_F(RebalanceTest, PartitionsComeBackAtTheInstancesOwnCheckpoint) {
  Configure("a", &a_);
  ProduceUsers(1, 8);
  // A alone: 8 edits by 8 users.
  ASSERT_TRUE(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 8},
                                     {R"(nsm_metric_value{metric="editors",window="current"})",
                                      8}})
                  .ok());

  // B joins: the group rebalances; B becomes ready once it holds partitions.
  Configure("b", &b_);
  ASSERT_TRUE(AwaitHttpStatus(b_.port, "/readyz", 200, absl::Seconds(60)).ok());
  ASSERT_TRUE(AwaitHttpStatus(a_.port, "/readyz", 200, absl::Seconds(60)).ok());
  ProduceUsers(9, 16);
  // Both readers together have seen every new event: wait until B's share
  // is processed (B started from the earliest offset of its partitions, so
  // its own counts are whatever its partitions hold; A's are checked below).
  absl::SleepFor(absl::Seconds(2));

  // B leaves the group (SIGTERM: final checkpoint, leave); A gets all four
  // partitions back and resumes each at its own checkpoint.
  b_.process->Signal(SIGTERM);
  auto status = b_.process->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  // Every one of the 16 events exactly once: 16 edits by 16 users.
  EXPECT_TRUE(AwaitMetrics(a_.port,
                           {{R"(nsm_metric_value{metric="edits",window="current"})", 16},
                            {R"(nsm_metric_value{metric="editors",window="current"})", 16}})
                  .ok());
  a_.process->Signal(SIGTERM);
  status = a_.process->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace nsmd
