// A revoke/assign cycle between two nsmd instances of one consumer group.
// Instance A holds all partitions; B joins (A checkpoints on revoke and keeps
// half), events arrive, B leaves; A gets its partitions back, seeks to its
// OWN checkpointed offsets (not the group's committed ones, which B moved
// on) and so counts every event exactly once.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <vector>

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

constexpr int kPartitions = 4;

using testing::AssignedPartition;
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
    auto broker = testing::StartBroker("events", kPartitions, &bootstrap_);
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_OK(producer);
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    a_.process.reset();
    b_.process.reset();
    broker_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Writes NAME.yaml (state dir DIR/NAME) and starts nsmd with it.
  // `properties` are the kafka.properties; `checkpoint_interval` the
  // state.checkpoint_interval.
  void Configure(const std::string& name, Instance* instance,
                 const std::string& properties = R"({session.timeout.ms: "6000"})",
                 const std::string& checkpoint_interval = "100ms") {
    instance->port = testing::FreePort();
    instance->config = (dir_ / (name + ".yaml")).string();
    // clang-format off
    std::ofstream(instance->config) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: rebalance
  properties: )", properties, R"(
state:
  dir: )", (dir_ / name).string(), R"(
  checkpoint_interval: )", checkpoint_interval, R"(
http:
  listen: 127.0.0.1:)", instance->port, "\nmetrics:", testing::kEditsAndEditorsMetrics);
    // clang-format on
    Start(instance);
  }

  // (Re)starts nsmd with the instance's config.
  void Start(Instance* instance) {
    auto process = testing::StartNsmd(instance->config, instance->config + ".log");
    ASSERT_OK(process);
    instance->process = std::move(*process);
  }

  // SIGTERM; expects exit 0 within 10 s.
  void Stop(Instance* instance) {
    const absl::Status stopped = testing::StopGracefully(*instance->process, absl::Seconds(10));
    EXPECT_OK(stopped);
    instance->process.reset();
  }

  // Messages per partition of "events" so far (a fresh topic: its end
  // offsets).
  std::vector<int64_t> Counts() {
    auto counts = testing::CountMessagesPerPartition(bootstrap_, "events", kPartitions);
    EXPECT_OK(counts);
    return counts.ok() ? *counts : std::vector<int64_t>(kPartitions, -1);
  }

  // Polls the instance's assignment until `done` accepts it (up to 60 s);
  // returns the last one seen.
  std::vector<AssignedPartition> AwaitAssignment(
      const Instance& instance,
      const std::function<bool(const std::vector<AssignedPartition>&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    std::vector<AssignedPartition> last;
    while (true) {
      auto a = testing::FetchAssignment(instance.port);
      if (a.ok()) {
        last = *a;
        if (done(last)) break;
      }
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return last;
  }

  // The sum of `counts` over the partitions in `assignment`.
  static int64_t Sum(const std::vector<int64_t>& counts,
                     const std::vector<AssignedPartition>& assignment) {
    int64_t n = 0;
    for (const AssignedPartition& p : assignment) n += counts[static_cast<size_t>(p.partition)];
    return n;
  }

  static std::string Format(const std::vector<AssignedPartition>& assignment) {
    std::string out;
    for (const AssignedPartition& p : assignment) {
      absl::StrAppend(&out, out.empty() ? "" : ",", p.partition);
    }
    return absl::StrCat("{", out, "}");
  }

  static std::vector<int32_t> Partitions(const std::vector<AssignedPartition>& assignment) {
    std::vector<int32_t> out;
    for (const AssignedPartition& p : assignment) out.push_back(p.partition);
    return out;
  }

  void ProduceUsers(int first, int last) {
    for (int u = first; u <= last; ++u) {
      ASSERT_OK(producer_->Produce("events", absl::StrCat("u", u), Edit(u)));
    }
    ASSERT_OK(producer_->Flush(absl::Seconds(30)));
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
  ASSERT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 8},
                                   {R"(nsm_metric_value{metric="editors",window="current"})", 8}}));

  // B joins: the group rebalances; B becomes ready once it holds partitions.
  Configure("b", &b_);
  ASSERT_OK(AwaitHttpStatus(b_.port, "/readyz", 200, absl::Seconds(60)));
  ASSERT_OK(AwaitHttpStatus(a_.port, "/readyz", 200, absl::Seconds(60)));
  ProduceUsers(9, 16);
  // Wait until B has processed and checkpointed its share: every partition
  // it holds checkpointed at the partition's end (B started from the
  // earliest offset of its partitions; A's counts are checked below).
  const std::vector<int64_t> ends = Counts();
  const std::vector<AssignedPartition> b_share =
      AwaitAssignment(b_, [&ends](const std::vector<AssignedPartition>& a) {
        if (a.empty()) return false;
        for (const AssignedPartition& p : a) {
          if (p.checkpointed_offset != ends[static_cast<size_t>(p.partition)]) return false;
        }
        return true;
      });
  ASSERT_FALSE(b_share.empty()) << "B holds no partition";
  for (const AssignedPartition& p : b_share) {
    ASSERT_EQ(p.checkpointed_offset, ends[static_cast<size_t>(p.partition)]) << p;
  }

  // B leaves the group (SIGTERM: final checkpoint, leave); A gets all four
  // partitions back and resumes each at its own checkpoint.
  Stop(&b_);
  // Every one of the 16 events exactly once: 16 edits by 16 users, and not
  // one event read twice (dedup would hide a re-read from the values, not
  // from nsmd_events_duplicate_total).
  EXPECT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 16},
                                   {R"(nsm_metric_value{metric="editors",window="current"})", 16},
                                   {"nsmd_events_duplicate_total", 0}}));
  Stop(&a_);
}

// With periodic checkpoints out of the way (1h), the only checkpoint before B
// joins is the one A takes on revoke: right after the rebalance A's
// checkpointed offsets must be exactly where it had read to.
TEST_F(RebalanceTest, RevokeCheckpointsWhatWasProcessedBeforeThePartitionsGo) {
  const std::string props = R"({session.timeout.ms: "6000"})";
  Configure("a", &a_, props, "1h");
  ProduceUsers(1, 8);
  // A alone reads all 8 (one edit per user).
  ASSERT_OK(AwaitMetrics(a_.port, {{"nsmd_events_consumed_total", 8},
                                   {R"(nsm_metric_value{metric="edits",window="current"})", 8},
                                   {R"(nsm_metric_value{metric="editors",window="current"})", 8}}));
  // All four partitions, none checkpointed yet (the interval is 1h).
  std::vector<AssignedPartition> before =
      AwaitAssignment(a_, [](const auto& a) { return a.size() == kPartitions; });
  ASSERT_EQ(before.size(), static_cast<size_t>(kPartitions));
  for (const AssignedPartition& p : before) EXPECT_EQ(p.checkpointed_offset, -1) << p.partition;
  const std::vector<int64_t> counts = Counts();

  // B joins: A's partitions are revoked (A checkpoints), then split.
  Configure("b", &b_, props, "1h");
  std::vector<AssignedPartition> a_after =
      AwaitAssignment(a_, [](const auto& a) { return !a.empty() && a.size() < kPartitions; });
  std::vector<AssignedPartition> b_after =
      AwaitAssignment(b_, [&](const auto& b) { return b.size() + a_after.size() == kPartitions; });
  // The assignment shrank: two partitions each (4 over 2 members).
  ASSERT_EQ(a_after.size(), 2u);
  ASSERT_EQ(b_after.size(), 2u);
  // A's offsets checkpointed on revoke = the end of each partition (it had
  // read everything), i.e. the message counts kcat sees.
  for (const AssignedPartition& p : a_after) {
    EXPECT_EQ(p.checkpointed_offset, counts[static_cast<size_t>(p.partition)])
        << "partition " << p.partition;
  }
  // Exact values: A keeps its 8 (lifetime); B starts its partitions from the
  // earliest offset (no state of its own): one edit per user in them.
  const int64_t in_b = Sum(counts, b_after);
  ASSERT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 8},
                                   {R"(nsm_metric_value{metric="editors",window="current"})", 8}}));
  ASSERT_OK(AwaitMetrics(
      b_.port,
      {{"nsmd_events_consumed_total", static_cast<double>(in_b)},
       {R"(nsm_metric_value{metric="edits",window="current"})", static_cast<double>(in_b)},
       {R"(nsm_metric_value{metric="editors",window="current"})", static_cast<double>(in_b)}}));

  // More events: each instance counts those of its own partitions.
  ProduceUsers(9, 16);
  const std::vector<int64_t> later = Counts();
  const double a_new = static_cast<double>(Sum(later, a_after) - Sum(counts, a_after));
  const double b_total = static_cast<double>(Sum(later, b_after));
  EXPECT_OK(
      AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 8 + a_new},
                             {R"(nsm_metric_value{metric="editors",window="current"})", 8 + a_new},
                             {"nsmd_events_duplicate_total", 0}}));
  EXPECT_OK(
      AwaitMetrics(b_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", b_total},
                             {R"(nsm_metric_value{metric="editors",window="current"})", b_total},
                             {"nsmd_events_duplicate_total", 0}}));
  Stop(&b_);
  Stop(&a_);
}

// Between the revoke and the assignment of an eager rebalance an instance
// holds no partition. Its checkpoints must not let window expiry jump to its
// newest event time then: a partition it gets back may be days behind.
// A reads edits of Jan 2 (u2 ... u9, over the partitions), then one of Jan 5
// (u1); B joins and leaves (two revoke/assign cycles, A checkpointing every
// 100 ms in between); then a Jan 2 edit on a partition whose stream time is
// Jan 2 is on time there: A counts it, and nothing is late.
TEST_F(RebalanceTest, AnInstanceWithoutPartitionsInARebalanceLetsNothingExpire) {
  const std::string props = R"({session.timeout.ms: "6000"})";
  Configure("a", &a_, props, "100ms");
  // Produces one edit and returns the partition it went to (whose count grew).
  auto produce = [&](int user, const std::string& id, const std::string& time) {
    const std::vector<int64_t> before = Counts();
    EXPECT_OK(producer_->Produce(
        "events", absl::StrCat("u", user),
        absl::StrCat(R"({"event":"file_edited","userId":"u)", user, R"(","messageId":")", id,
                     R"(","timestamp":")", time, R"("})")));
    EXPECT_OK(producer_->Flush(absl::Seconds(30)));
    const std::vector<int64_t> after = Counts();
    for (int p = 0; p < kPartitions; ++p) {
      if (after[static_cast<size_t>(p)] > before[static_cast<size_t>(p)]) return p;
    }
    return -1;
  };
  std::map<int, int> partition_of;  // user -> partition of its Jan 2 edit
  for (int u = 2; u <= 9; ++u) {
    partition_of[u] = produce(u, absl::StrCat("jan2-", u), "2024-01-02T10:00:00Z");
  }
  ASSERT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 8}}));
  const int jan5_partition = produce(1, "jan5", "2024-01-05T10:00:00Z");
  int behind = -1;  // a user whose partition did not get the Jan 5 edit
  for (const auto& [u, p] : partition_of) {
    if (p >= 0 && p != jan5_partition) behind = u;
  }
  ASSERT_GT(behind, 0) << "all 8 users on the partition of the Jan 5 edit";
  ASSERT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})", 9},
                                   {"nsmd_events_late_total", 0}}));
  // B joins (A: revoked, then two partitions), then leaves (A: revoked,
  // then all four).
  Configure("b", &b_, props, "100ms");
  AwaitAssignment(a_, [](const auto& a) { return !a.empty() && a.size() < kPartitions; });
  AwaitAssignment(b_, [](const auto& b) { return !b.empty(); });
  Stop(&b_);
  ASSERT_EQ(AwaitAssignment(a_, [](const auto& a) { return a.size() == kPartitions; }).size(),
            static_cast<size_t>(kPartitions));
  // 30 minutes after that partition's stream time: within the 1 h lateness.
  produce(behind, "jan2-later", "2024-01-02T10:30:00Z");
  EXPECT_OK(AwaitMetrics(a_.port, {{"nsmd_events_consumed_total", 10},
                                   {R"(nsm_metric_value{metric="edits",window="current"})", 10},
                                   {"nsmd_events_late_total", 0}}));
  Stop(&a_);
}

// Static membership (distinct group.instance.id values, session.timeout.ms
// 6000): an instance that stops does not leave the group, so while it
// restarts (within the session timeout) the other instance's partitions do
// not move; afterwards both count every event exactly once from their own
// state. A real broker also hands the returning member its old partitions
// without a rebalance; the mock cluster of librdkafka 2.0 (`nsmd broker`)
// cannot show that: it gives the returning member a new member id (a heap
// address), rebalances, and the range assignor orders members by that id, so
// the two instances may swap partitions. Which partitions each ends with is
// therefore read from /api/v1/status, and the values derived from it.
TEST_F(RebalanceTest, StaticMemberRestartMovesNoPartitionAndCountsExactlyOnce) {
  Configure("a", &a_, R"({group.instance.id: static-a, session.timeout.ms: "6000"})");
  Configure("b", &b_, R"({group.instance.id: static-b, session.timeout.ms: "6000"})");
  std::vector<AssignedPartition> a_before, b_before;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto a = testing::FetchAssignment(a_.port);
    auto b = testing::FetchAssignment(b_.port);
    if (a.ok() && b.ok() && a->size() == 2 && b->size() == 2) {
      a_before = *a;
      b_before = *b;
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(a_before.size(), 2u);
  ASSERT_EQ(b_before.size(), 2u);
  ProduceUsers(1, 8);
  const std::vector<int64_t> counts = Counts();
  const int64_t in_a = Sum(counts, a_before);
  const int64_t in_b = Sum(counts, b_before);
  ASSERT_EQ(in_a + in_b, 8);
  ASSERT_OK(AwaitMetrics(a_.port, {{R"(nsm_metric_value{metric="edits",window="current"})",
                                    static_cast<double>(in_a)}}));
  ASSERT_OK(AwaitMetrics(b_.port, {{R"(nsm_metric_value{metric="edits",window="current"})",
                                    static_cast<double>(in_b)}}));

  // A stops (a static member does not leave the group) and stays away 3 s,
  // half the session timeout: B's assignment must not change meanwhile. (A
  // member that left would make the group give B all four partitions.)
  Stop(&a_);
  const absl::Time stopped = absl::Now();
  while (absl::Now() < stopped + absl::Seconds(3)) {
    auto b = testing::FetchAssignment(b_.port);
    ASSERT_OK(b);
    ASSERT_EQ(Partitions(*b), Partitions(b_before)) << "B's partitions moved while A was away";
    absl::SleepFor(absl::Milliseconds(100));
  }
  Start(&a_);

  // Wait past the session timeout of A's old membership and until the two
  // assignments cover the four partitions and hold still for 2 s.
  std::vector<AssignedPartition> a_after, b_after;
  absl::Time stable_since = absl::InfiniteFuture();
  deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto a = testing::FetchAssignment(a_.port);
    auto b = testing::FetchAssignment(b_.port);
    if (a.ok() && b.ok() && a->size() + b->size() == kPartitions && !a->empty() && !b->empty()) {
      if (Partitions(*a) != Partitions(a_after) || Partitions(*b) != Partitions(b_after)) {
        a_after = *a;
        b_after = *b;
        stable_since = absl::Now();
      }
      if (absl::Now() > stopped + absl::Seconds(8) &&
          absl::Now() > stable_since + absl::Seconds(2)) {
        break;
      }
    } else {
      a_after.clear();
      b_after.clear();
      stable_since = absl::InfiniteFuture();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(a_after.size() + b_after.size(), static_cast<size_t>(kPartitions));
  std::cout << "A: partitions before restart " << Format(a_before) << ", after " << Format(a_after)
            << "\n";
  // Every partition A holds now is checkpointed at its end: one of A's own
  // resumed at A's final checkpoint, one new to A was read from the earliest
  // offset (no state for it) and checkpointed since; a partition with no
  // message has no checkpoint. Which of the two happened shows in the counts
  // below: nsmd_events_consumed_total counts only what A read since it
  // started, so a partition re-read from the start would count again.
  auto own = [&](const std::vector<AssignedPartition>& before, int32_t partition) {
    for (const AssignedPartition& p : before) {
      if (p.partition == partition) return counts[static_cast<size_t>(partition)];
    }
    return int64_t{0};
  };
  // (A partition new to A may take a few seconds to be fetched: wait.)
  std::vector<AssignedPartition> a_checkpointed = a_after;
  for (AssignedPartition& p : a_checkpointed) {
    const int64_t end = counts[static_cast<size_t>(p.partition)];
    p.checkpointed_offset = end > 0 ? end : int64_t{-1};
  }
  EXPECT_EQ(
      AwaitAssignment(
          a_, [&](const std::vector<AssignedPartition>& now) { return now == a_checkpointed; }),
      a_checkpointed);

  // Values exact afterwards: each instance holds its lifetime counts plus
  // what it read since (from its state's offset, or the start).
  ProduceUsers(9, 16);
  const std::vector<int64_t> later = Counts();
  int64_t a_read = 0, b_read = 0;
  for (const AssignedPartition& p : a_after) {
    a_read += later[static_cast<size_t>(p.partition)] - own(a_before, p.partition);
  }
  for (const AssignedPartition& p : b_after) {
    b_read += later[static_cast<size_t>(p.partition)] - own(b_before, p.partition);
  }
  EXPECT_OK(AwaitMetrics(a_.port, {{"nsmd_events_consumed_total", static_cast<double>(a_read)},
                                   {R"(nsm_metric_value{metric="edits",window="current"})",
                                    static_cast<double>(in_a + a_read)},
                                   {R"(nsm_metric_value{metric="editors",window="current"})",
                                    static_cast<double>(in_a + a_read)},
                                   {"nsmd_events_duplicate_total", 0}}));
  EXPECT_OK(AwaitMetrics(b_.port, {{R"(nsm_metric_value{metric="edits",window="current"})",
                                    static_cast<double>(in_b + b_read)},
                                   {R"(nsm_metric_value{metric="editors",window="current"})",
                                    static_cast<double>(in_b + b_read)},
                                   {"nsmd_events_duplicate_total", 0}}));
  Stop(&a_);
  Stop(&b_);
}

}  // namespace
}  // namespace nsmd
