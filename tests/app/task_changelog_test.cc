// TaskChangelog against librdkafka's mock cluster over TCP (an
// EmbeddedBroker) and real RocksDB stores: what a checkpoint writes, and
// what a restore on another state dir makes of it.
#include "daemon/app/task_changelog.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/app/partition_task.h"
#include "daemon/source/changelog_producer.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/state/changelog_record.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

constexpr char kGroup[] = "g";
constexpr char kChangelog[] = "g-events-changelog";

class TaskChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-task-changelog");
    auto broker = EmbeddedBroker::Start();
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    ASSERT_OK(broker_->CreateTopic("events", 2));
    ASSERT_OK(broker_->CreateTopic(kChangelog, 2));
    writer_ = NewChangelog("a");
    ASSERT_NE(writer_, nullptr);
    ASSERT_OK(writer_->EnsureTopics({"events"}));
    writer_store_ = OpenStore("a");
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<TaskChangelog> NewChangelog(const std::string& instance) {
    auto c = TaskChangelog::Create(broker_->bootstrap_servers(), {}, kGroup,
                                   absl::StrCat("nsmd-g-", instance), nullptr);
    EXPECT_OK(c);
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::unique_ptr<StateStore> OpenStore(const std::string& name) {
    auto store = StateStore::Open((dir_ / name).string(), kGroup);
    EXPECT_OK(store);
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Writes one checkpoint through writer_ and commits it to writer_store_
  // as the checkpoint writer does; returns the changelog ends.
  std::map<std::string, int64_t> Checkpoint(const StateDelta& delta,
                                            const std::vector<SourceOffset>& offsets) {
    std::vector<SourceOffset> ends;
    EXPECT_OK(writer_->Write(delta, offsets, {}, *writer_store_, &ends));
    EXPECT_OK(writer_store_->Commit(delta, offsets, ends));
    std::map<std::string, int64_t> out;
    for (const SourceOffset& o : ends)
      out[absl::StrCat(o.topic, "/", o.partition.value())] = o.next_offset.value();
    return out;
  }

  // The rows of task events/`p` in `store`: relative key -> value (long
  // values as their size).
  static std::map<std::string, std::string> Rows(const StateStore& store, int p) {
    std::map<std::string, std::string> out;
    EXPECT_OK(store.ScanEngineStateUnder(
        PartitionTask::KeyPrefix(TopicPartitionId{"events", PartitionId(p)}),
        [&](absl::string_view key, absl::string_view value) {
          out[std::string(key)] =
              value.size() > 40 ? absl::StrCat("<", value.size(), " bytes>") : std::string(value);
          return absl::OkStatus();
        }));
    return out;
  }
  static int64_t InputOffset(const StateStore& store, int p) {
    auto offsets = store.LoadOffsets();
    EXPECT_OK(offsets);
    for (const SourceOffset& o : *offsets) {
      if (o.topic == "events" && o.partition == PartitionId(p)) return o.next_offset.value();
    }
    return -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<TaskChangelog> writer_;
  std::unique_ptr<StateStore> writer_store_;
};

TEST_F(TaskChangelogTest, RowsTombstonesPrefixDeletionsAndChunksRestoreOnAnotherInstance) {
  StateDelta first;
  first.Put("t/events/0/m/w/f/a", "1");
  first.Put("t/events/0/m/w/f/b", "2");
  first.Put("t/events/0/x/keep", "k");
  first.Put("t/events/1/s/events/1", "5");
  // Task 0: 3 rows + marker (end 4); task 1: 1 row + marker (end 2).
  EXPECT_EQ(Checkpoint(first, {{"events", PartitionId(0), KafkaOffset(10)},
                               {"events", PartitionId(1), KafkaOffset(3)}}),
            (std::map<std::string, int64_t>{{"events/0", 4}, {"events/1", 2}}));

  StateDelta second;
  second.DeletePrefix("t/events/0/m/w/");  // the store holds a and b under it
  second.Delete("t/events/0/x/keep");
  const std::string big(kChangelogChunkBytes * 2 + 100, 'z');  // 3 chunks
  second.Put("t/events/0/m/v/f/big", big);
  // Task 0 only (task 1's offset did not move): tombstones a, b, keep; 3
  // chunks; marker: 7 records, end 4 + 7 = 11.
  EXPECT_EQ(Checkpoint(second, {{"events", PartitionId(0), KafkaOffset(20)},
                                {"events", PartitionId(1), KafkaOffset(3)}}),
            (std::map<std::string, int64_t>{{"events/0", 11}}));

  std::unique_ptr<TaskChangelog> reader = NewChangelog("b");
  std::unique_ptr<StateStore> b = OpenStore("b");
  // B held stale rows of task 0 and no changelog offset: they go.
  StateDelta stale;
  stale.Put("t/events/0/m/w/f/stale", "9");
  ASSERT_OK(b->Commit(stale, {{"events", PartitionId(0), KafkaOffset(3)}}));

  auto restored = reader->Restore(TopicPartitionId{"events", PartitionId(0)}, b.get());
  ASSERT_OK(restored);
  EXPECT_TRUE(restored->from_start);
  EXPECT_EQ(restored->records, 11u);
  EXPECT_EQ(restored->checkpoints, 2u);
  EXPECT_EQ(restored->rows, 7u);  // a, b, keep; then a, b, keep deleted and big
  EXPECT_EQ(restored->input_next_offset, KafkaOffset(20));
  EXPECT_EQ(Rows(*b, 0), (std::map<std::string, std::string>{{"m/v/f/big", "<1048676 bytes>"}}));
  EXPECT_EQ(Rows(*writer_store_, 0), Rows(*b, 0));
  EXPECT_EQ(InputOffset(*b, 0), 20);
  auto c = b->ChangelogOffset("events", PartitionId(0));
  ASSERT_OK(c);
  EXPECT_EQ(*c, KafkaOffset(11));

  auto task1 = reader->Restore(TopicPartitionId{"events", PartitionId(1)}, b.get());
  ASSERT_OK(task1);
  EXPECT_EQ(task1->records, 2u);
  EXPECT_EQ(Rows(*b, 1), (std::map<std::string, std::string>{{"s/events/1", "5"}}));
  EXPECT_EQ(InputOffset(*b, 1), 3);
}

TEST_F(TaskChangelogTest, RestoreFromALocalOffsetReadsOnlyWhatFollows) {
  StateDelta first;
  first.Put("t/events/0/m/a", "1");
  Checkpoint(first, {{"events", PartitionId(0), KafkaOffset(5)}});  // records 0, 1
  std::unique_ptr<TaskChangelog> reader = NewChangelog("b");
  std::unique_ptr<StateStore> b = OpenStore("b");
  ASSERT_OK(reader->Restore(TopicPartitionId{"events", PartitionId(0)}, b.get()).status());

  StateDelta second;
  second.Put("t/events/0/m/a", "2");
  second.Put("t/events/0/m/c", "3");
  Checkpoint(second, {{"events", PartitionId(0), KafkaOffset(9)}});  // records 2, 3, 4
  auto again = reader->Restore(TopicPartitionId{"events", PartitionId(0)}, b.get());
  ASSERT_OK(again);
  EXPECT_FALSE(again->from_start);
  EXPECT_EQ(again->records, 3u);
  EXPECT_EQ(again->rows, 2u);
  EXPECT_EQ(Rows(*b, 0), (std::map<std::string, std::string>{{"m/a", "2"}, {"m/c", "3"}}));
  EXPECT_EQ(InputOffset(*b, 0), 9);

  // Nothing new: nothing read, the offset stands.
  auto idle = reader->Restore(TopicPartitionId{"events", PartitionId(0)}, b.get());
  ASSERT_OK(idle);
  EXPECT_EQ(idle->records, 0u);
  EXPECT_EQ(idle->input_next_offset, KafkaOffset(9));
}

TEST_F(TaskChangelogTest, TrailingUnfinishedCheckpointIsIgnoredAndARepeatedOneChangesNothing) {
  StateDelta first;
  first.Put("t/events/0/m/a", "1");
  Checkpoint(first, {{"events", PartitionId(0), KafkaOffset(5)}});  // records 0, 1

  // Another producer commits the same checkpoint's records twice (an
  // attempt the mock still shows, then its retry), then rows without a
  // marker (a checkpoint that never finished).
  auto producer = ChangelogProducer::Create(broker_->bootstrap_servers(), {}, "other");
  ASSERT_OK(producer);
  const TopicPartitionId partition{kChangelog, PartitionId(0)};
  std::vector<ChangelogRecord> ck;
  AppendRowRecords("m/a", "4", "other/1", &ck);
  AppendTombstones("m/gone", 1, "other/1", &ck);
  ck.push_back(MarkerRecord(KafkaOffset(12), "other/1"));
  for (int i = 0; i < 2; ++i) ASSERT_OK((*producer)->Commit({{partition, ck}}, {}, nullptr));
  std::vector<ChangelogRecord> unfinished;
  AppendRowRecords("m/a", "99", "other/2", &unfinished);
  AppendRowRecords("m/z", "99", "other/2", &unfinished);
  ASSERT_OK((*producer)->Commit({{partition, unfinished}}, {}, nullptr));

  std::unique_ptr<TaskChangelog> reader = NewChangelog("b");
  std::unique_ptr<StateStore> b = OpenStore("b");
  auto restored = reader->Restore(TopicPartitionId{"events", PartitionId(0)}, b.get());
  ASSERT_OK(restored);
  EXPECT_EQ(restored->records, 2u + 3u + 3u + 2u);
  EXPECT_EQ(restored->checkpoints, 3u);
  EXPECT_EQ(Rows(*b, 0), (std::map<std::string, std::string>{{"m/a", "4"}}));
  EXPECT_EQ(InputOffset(*b, 0), 12);
  // The end is after the last marker: the unfinished records are read again
  // next time, in case their marker follows.
  auto c = b->ChangelogOffset("events", PartitionId(0));
  ASSERT_OK(c);
  EXPECT_EQ(*c, KafkaOffset(8));
}

TEST_F(TaskChangelogTest, RowsOfATaskThatHasReadNothingYetRestoreWithoutAnOffset) {
  // A task writes rows when it is created (before its first message): its
  // marker carries no input offset, and the restored task has none either.
  StateDelta created;
  created.Put("t/events/1/n", "0");
  EXPECT_EQ(Checkpoint(created, {}), (std::map<std::string, int64_t>{{"events/1", 2}}));
  std::unique_ptr<TaskChangelog> reader = NewChangelog("b");
  std::unique_ptr<StateStore> b = OpenStore("b");
  auto restored = reader->Restore(TopicPartitionId{"events", PartitionId(1)}, b.get());
  ASSERT_OK(restored);
  EXPECT_EQ(restored->checkpoints, 1u);
  EXPECT_EQ(restored->input_next_offset, std::nullopt);
  EXPECT_EQ(Rows(*b, 1), (std::map<std::string, std::string>{{"n", "0"}}));
  EXPECT_EQ(InputOffset(*b, 1), -1);
}

TEST_F(TaskChangelogTest, ChangelogWithFewerPartitionsThanItsInputIsRefused) {
  ASSERT_OK(broker_->CreateTopic("clicks", 4));
  ASSERT_OK(broker_->CreateTopic("g-clicks-changelog", 2));
  absl::Status s = writer_->EnsureTopics({"events", "clicks"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("g-clicks-changelog has 2 partition(s), fewer than the 4"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace nsmd
