// Tests for ApplyPool: the messages of several partitions decoded and
// applied on three threads, each owning a share of the tasks, give exactly
// what one thread (a replay through Pipeline::Process) gives, and a
// checkpoint taken in a pause holds state and offsets that agree.
//
// Times: 2024-01-01T00:00:00Z (a Monday) is 1704067200000 ms, the start of
// the week every event below falls in.
#include "daemon/app/apply_pool.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "daemon/config/config_loader.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

constexpr int64_t kWeekOf2024_01_01 = 1704067200000;
constexpr int kPartitions = 6;
constexpr int kUsersPerPartition = 7;
constexpr int kMessagesPerPartition = 1500;  // three full batches and a part

// Without kafka.key_field nothing is known to be partitioned: one
// whole-input task.
constexpr char kWholeInputConfig[] = R"(
state:
  dir: unused
events:
  format: segment
  dedup_horizon: 1h
metrics:
  - name: weekly_editors
    role: north_star
    filter: {event: file_edited}
    measure: {distinct: userId}
    window: {tumbling: week}
  - name: edits
    role: input
    filter: {event: file_edited}
    measure: events
    window: {tumbling: week}
)";

// Every metric counts users, and messages are keyed by user: one task per
// partition.
std::string PerPartitionConfig() {
  return absl::StrCat("kafka:\n  key_field: userId\n", kWholeInputConfig);
}

struct Message {
  int32_t partition;
  int64_t offset;
  std::string key;
  std::string payload;
};

// Partition p holds the users u-p-0 .. u-p-6 (keyed by user). Message i of
// a partition: every 100th is not JSON, every 50th (others) repeats the
// messageId of the message before it (a duplicate), the rest are edits by
// user (i * 3) % 7 of the partition, 10 s apart. Interleaved as a fetch
// delivers them: runs of 40 of one partition.
std::vector<Message> Messages(int per_partition = kMessagesPerPartition) {
  std::vector<std::vector<Message>> by_partition(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      const int user = (i * 3) % kUsersPerPartition;
      const std::string id = absl::StrCat("u-", p, "-", user);
      std::string payload;
      if (i % 100 == 99) {
        payload = "not json";
      } else {
        const int mid = i % 50 == 49 ? i - 1 : i;
        payload = absl::StrCat(R"({"event":"file_edited","userId":")", id, R"(","messageId":"m-)",
                               p, "-", mid, R"(","timestamp":)",
                               kWeekOf2024_01_01 + (i % 50 == 49 ? i - 1 : i) * 10000, "}");
      }
      by_partition[p].push_back(Message{p, i, id, payload});
    }
  }
  std::vector<Message> out;
  for (int start = 0; start < per_partition; start += 40) {
    for (int p = 0; p < kPartitions; ++p) {
      for (int i = start; i < std::min(start + 40, per_partition); ++i) {
        out.push_back(by_partition[p][i]);
      }
    }
  }
  return out;
}

// What the messages of `partition` at offsets below `end` add up to, by
// hand from the rules in Messages(): distinct users and edits (neither
// rejected nor duplicate).
struct Expected {
  std::set<std::string> users;
  int edits = 0;
  int rejected = 0;
  int duplicates = 0;
};
void AddExpected(int partition, int64_t end, Expected* e) {
  for (int i = 0; i < end; ++i) {
    if (i % 100 == 99) {
      ++e->rejected;
    } else if (i % 50 == 49) {
      ++e->duplicates;
    } else {
      ++e->edits;
      e->users.insert(absl::StrCat("u-", partition, "-", (i * 3) % kUsersPerPartition));
    }
  }
}

class ApplyPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("apply_pool"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A pipeline on the store in `state` for `config_text`.
  std::unique_ptr<Pipeline> NewPipeline(const std::string& config_text, const std::string& state) {
    ConfigLoadResult loaded = ParseConfig(config_text, "test.yaml");
    EXPECT_TRUE(loaded.config.has_value());
    config_ = std::move(*loaded.config);
    auto store = StateStore::Open((dir_ / state).string(), "group");
    EXPECT_TRUE(store.ok()) << store.status();
    stores_.push_back(std::move(*store));
    auto pipeline = Pipeline::Create(config_, stores_.back().get(), /*probe=*/nullptr);
    EXPECT_TRUE(pipeline.ok()) << pipeline.status();
    EXPECT_TRUE((*pipeline)->LoadState().ok());
    (*pipeline)->set_reject_sink(
        [this](absl::string_view, PartitionId partition, KafkaOffset offset, absl::string_view,
               absl::string_view payload, RejectReason reason, const absl::Status&) {
          absl::MutexLock lock(&rejects_mu_);
          rejects_.insert(absl::StrCat(partition.value(), "@", offset.value(), " ", payload, " ",
                                       RejectReasonName(reason)));
        });
    return std::move(*pipeline);
  }

  static void Add(ApplyPool* pool, const Message& m) {
    SourceMessage s;
    s.topic = "events";
    s.partition = PartitionId(m.partition);
    s.offset = KafkaOffset(m.offset);
    s.key = m.key;
    s.payload = m.payload;
    pool->Add(s);
  }

  // metric/window -> value over the owned tasks.
  static std::map<std::string, double> Values(const Pipeline& pipeline) {
    std::map<std::string, double> out;
    for (const SeriesSample& s : pipeline.Snapshot().samples) {
      out[absl::StrCat(s.metric, "/", s.window)] = s.value;
    }
    return out;
  }

  std::filesystem::path dir_;
  DaemonConfig config_;
  std::vector<std::unique_ptr<StateStore>> stores_;
  absl::Mutex rejects_mu_;
  std::set<std::string> rejects_ ABSL_GUARDED_BY(rejects_mu_);
};

TEST_F(ApplyPoolTest, ThreeThreadsGiveWhatOneThreadGives) {
  const std::vector<Message> messages = Messages();
  Expected all;
  for (int p = 0; p < kPartitions; ++p) AddExpected(p, kMessagesPerPartition, &all);
  // By hand: per partition, 15 rejected (i = 99, 199, ..., 1499), 15
  // duplicates (i = 49, 149, ..., 1449; 99 etc. are rejected first) and
  // the other 1470 edits by all 7 users.
  ASSERT_EQ(all.rejected, 6 * 15);
  ASSERT_EQ(all.duplicates, 6 * 15);
  ASSERT_EQ(all.edits, 6 * (1500 - 30));
  ASSERT_EQ(all.users.size(), 42u);

  std::unique_ptr<Pipeline> pipeline = NewPipeline(PerPartitionConfig(), "threads");
  ApplyPool pool(pipeline.get(), 3);
  ASSERT_EQ(pool.threads(), 3);
  for (const Message& m : messages) Add(&pool, m);
  pool.Drain();

  const std::map<std::string, double> values = Values(*pipeline);
  EXPECT_EQ(values.at("weekly_editors/current"), 42);
  EXPECT_EQ(values.at("edits/current"), all.edits);
  const Pipeline::Counts c = pipeline->counts();
  EXPECT_EQ(c.consumed, 9000u);
  EXPECT_EQ(c.applied, static_cast<uint64_t>(all.edits));
  EXPECT_EQ(c.duplicate, static_cast<uint64_t>(all.duplicates));
  EXPECT_EQ(c.rejected[static_cast<size_t>(RejectReason::kInvalidJson)], 90u);
  for (int p = 0; p < kPartitions; ++p)
    EXPECT_EQ(pipeline->NextOffset("events", PartitionId(p)), KafkaOffset(1500));
  {
    absl::MutexLock lock(&rejects_mu_);
    EXPECT_EQ(rejects_.size(), 90u);
    EXPECT_TRUE(rejects_.contains("4@1099 not json invalid_json"));
  }

  // One topic's 6 partitions go round the 3 threads: 2 partitions each.
  std::vector<uint64_t> per_lane(3);
  for (int p = 0; p < kPartitions; ++p)
    per_lane[pipeline->LaneOf("events", PartitionId(p))] += 1500;
  EXPECT_EQ(per_lane, std::vector<uint64_t>({3000, 3000, 3000}));
  const std::vector<ApplyPool::ThreadStats> stats = pool.stats();
  ASSERT_EQ(stats.size(), 3u);
  for (int lane = 0; lane < 3; ++lane) EXPECT_EQ(stats[lane].messages, per_lane[lane]);

  // The same messages through one thread, inline (as `nsmd replay`).
  std::unique_ptr<Pipeline> replay = NewPipeline(PerPartitionConfig(), "replay");
  for (const Message& m : messages) {
    replay->Process("events", PartitionId(m.partition), KafkaOffset(m.offset), m.payload);
  }
  replay->Flush();
  EXPECT_EQ(Values(*replay), values);
  EXPECT_EQ(replay->counts().applied, c.applied);
  EXPECT_EQ(replay->counts().duplicate, c.duplicate);
}

TEST_F(ApplyPoolTest, ACheckpointInAPauseHoldsTheStateOfExactlyItsOffsets) {
  const std::vector<Message> messages = Messages();
  std::map<int, int64_t> checkpointed;
  {
    std::unique_ptr<Pipeline> pipeline = NewPipeline(PerPartitionConfig(), "state");
    ApplyPool pool(pipeline.get(), 3);
    // A checkpoint in a pause halfway, batches still queued or not.
    for (size_t i = 0; i < messages.size() / 2; ++i) Add(&pool, messages[i]);
    {
      ApplyPool::Pause pause(&pool);
      ASSERT_OK(pipeline->Checkpoint());
    }
    for (size_t i = messages.size() / 2; i < messages.size(); ++i) Add(&pool, messages[i]);
    pool.Drain();  // applied, not checkpointed
    for (int p = 0; p < kPartitions; ++p) {
      checkpointed[p] =
          pipeline->CheckpointedOffset("events", PartitionId(p)).value_or(KafkaOffset(0)).value();
    }
  }
  stores_.clear();  // RocksDB's lock
  // Whatever the threads had applied at the pause, the restored tasks hold
  // exactly the messages below the offsets stored with them.
  std::unique_ptr<Pipeline> restored = NewPipeline(PerPartitionConfig(), "state");
  std::vector<TopicPartitionId> partitions;
  for (int p = 0; p < kPartitions; ++p)
    partitions.push_back(TopicPartitionId{"events", PartitionId(p)});
  auto resume = restored->AssignTasks(partitions);
  ASSERT_OK(resume);
  Expected prefix;
  int64_t total = 0;
  for (const SourceOffset& o : *resume) {
    EXPECT_EQ(o.next_offset.value(), checkpointed[o.partition.value()]);
    AddExpected(o.partition.value(), o.next_offset.value(), &prefix);
    total += o.next_offset.value();
  }
  EXPECT_LE(total, 4500);  // the second half came after the checkpoint
  // A metric with no event yet (the pause came before any was applied) has
  // no sample: 0.
  const std::map<std::string, double> values = Values(*restored);
  auto value = [&values](const std::string& series) {
    auto it = values.find(series);
    return it == values.end() ? 0.0 : it->second;
  };
  EXPECT_EQ(value("weekly_editors/current"), prefix.users.size());
  EXPECT_EQ(value("edits/current"), prefix.edits);
}

TEST_F(ApplyPoolTest, TheWholeInputTaskHasOneApplyingThreadAndDecodesAhead) {
  // 1 thread: decoded and applied on it; 3: one applies, another decodes
  // ahead. Either gives the counts derived for ThreeThreadsGiveWhatOneThreadGives.
  for (int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    std::unique_ptr<Pipeline> pipeline =
        NewPipeline(kWholeInputConfig, absl::StrCat("whole-", threads));
    ApplyPool pool(pipeline.get(), threads);
    EXPECT_EQ(pool.threads(), 1);
    EXPECT_EQ(pool.decodes_ahead(), threads > 1);
    const std::vector<Message> messages = Messages();
    // A pause halfway (batches queued, decoded or not) and a drain.
    for (size_t i = 0; i < messages.size() / 2; ++i) Add(&pool, messages[i]);
    { ApplyPool::Pause pause(&pool); }
    for (size_t i = messages.size() / 2; i < messages.size(); ++i) Add(&pool, messages[i]);
    pool.Drain();
    const std::map<std::string, double> values = Values(*pipeline);
    EXPECT_EQ(values.at("weekly_editors/current"), 42);
    EXPECT_EQ(values.at("edits/current"), 6 * 1470);
    const Pipeline::Counts c = pipeline->counts();
    EXPECT_EQ(c.consumed, 9000u);
    EXPECT_EQ(c.duplicate, 6u * 15);
    EXPECT_EQ(c.rejected[static_cast<size_t>(RejectReason::kInvalidJson)], 90u);
    for (int p = 0; p < kPartitions; ++p)
      EXPECT_EQ(pipeline->NextOffset("events", PartitionId(p)), KafkaOffset(1500));
    EXPECT_EQ(pool.stats()[0].messages, 9000u);
  }
}

TEST_F(ApplyPoolTest, AFullLaneHoldsTheOwnerUntilItsThreadCatchesUp) {
  // 3,000 messages per partition: 36 batches, more than a lane holds. The
  // test holds the applying thread at the first rejected message (it
  // reports rejects under rejects_mu_), so the owner must wait for room.
  // By hand, per partition: 30 rejected (i % 100 == 99), 30 duplicates
  // (i % 50 == 49, the others), 2,940 edits by the 7 users.
  const std::vector<Message> messages = Messages(3000);
  ASSERT_EQ(messages.size(), 18000u);
  for (int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    std::unique_ptr<Pipeline> pipeline =
        NewPipeline(kWholeInputConfig, absl::StrCat("full-", threads));
    ApplyPool pool(pipeline.get(), threads);
    std::atomic<bool> added{false};
    std::thread owner;
    {
      absl::MutexLock hold(&rejects_mu_);
      owner = std::thread([&] {
        for (const Message& m : messages) Add(&pool, m);
        added = true;
      });
      while (pool.room_waits() == 0) absl::SleepFor(absl::Milliseconds(1));
      EXPECT_FALSE(added);
    }
    owner.join();
    // Let go with 32 batches in flight, the owner resumed at 16 and added
    // the last 3 batches without waiting again.
    EXPECT_EQ(pool.room_waits(), 1u);
    pool.Drain();
    const std::map<std::string, double> values = Values(*pipeline);
    EXPECT_EQ(values.at("weekly_editors/current"), 42);
    EXPECT_EQ(values.at("edits/current"), 6 * 2940);
    const Pipeline::Counts c = pipeline->counts();
    EXPECT_EQ(c.consumed, 18000u);
    EXPECT_EQ(c.applied, 6u * 2940);
    EXPECT_EQ(c.duplicate, 6u * 30);
    EXPECT_EQ(c.rejected[static_cast<size_t>(RejectReason::kInvalidJson)], 6u * 30);
    for (int p = 0; p < kPartitions; ++p) {
      EXPECT_EQ(pipeline->NextOffset("events", PartitionId(p)), KafkaOffset(3000));
    }
    absl::MutexLock lock(&rejects_mu_);
    rejects_.clear();
  }
}

}  // namespace
}  // namespace nsmd
