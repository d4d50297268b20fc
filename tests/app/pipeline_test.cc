// Tests for Pipeline: messages decoded inline (Process), reloads, and the
// state they leave (batches decoded ahead: apply_pool_test).
//
// Times: 2024-01-01T00:00:00Z (a Monday) is 1704067200000 ms: 19723 days *
// 86400 s since the epoch. The week of Monday 2024-01-01 therefore starts
// at 1704067200000.
#include "daemon/app/pipeline.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/config/config_loader.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/failing_file_system.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

constexpr int64_t kWeekOf2024_01_01 = 1704067200000;

constexpr char kConfig[] = R"(
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
)";

// A file_edited event by `user` with messageId `id`, `minute` minutes into
// 2024-01-01 UTC.
std::string Edit(const std::string& user, const std::string& id, int minute) {
  return absl::StrCat(R"({"event":"file_edited","userId":")", user, R"(","messageId":")", id,
                      R"(","timestamp":)", kWeekOf2024_01_01 + minute * 60000, "}");
}

// The messages both tests feed: three editors, one duplicate (m-2 again),
// one event of another name and two that do not decode.
std::vector<std::string> Messages() {
  return {Edit("u-1", "m-1", 1),
          Edit("u-2", "m-2", 2),
          "not json",
          Edit("u-2", "m-2", 3),  // a duplicate: same messageId
          R"({"event":"page_viewed","userId":"u-9","messageId":"m-5","timestamp":1704067500000})",
          Edit("u-3", "m-6", 5),
          R"({"event":"file_edited","userId":"u-4"})",  // no timestamp
          Edit("u-1", "m-7", 6)};
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pipeline");
    ConfigLoadResult loaded = ParseConfig(kConfig, "test.yaml");
    ASSERT_TRUE(loaded.config.has_value()) << loaded.diagnostics.front().ToString();
    config_ = std::move(*loaded.config);
    auto store = StateStore::Open((dir_ / "state").string(), "group");
    ASSERT_OK(store);
    store_ = std::move(*store);
    auto pipeline = Pipeline::Create(config_, store_.get(), /*probe=*/nullptr);
    ASSERT_OK(pipeline);
    pipeline_ = std::move(*pipeline);
    ASSERT_OK(pipeline_->LoadState());
    pipeline_->set_reject_sink([this](absl::string_view, PartitionId, KafkaOffset offset,
                                      absl::string_view key, absl::string_view payload,
                                      RejectReason reason, const absl::Status&) {
      rejects_.push_back(
          absl::StrCat(offset.value(), " ", key, " ", payload, " ", RejectReasonName(reason)));
    });
  }
  void TearDown() override {
    pipeline_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The current week's value of weekly_editors.
  double WeeklyEditors() const {
    for (const SeriesSample& s : pipeline_->Snapshot().samples) {
      if (s.metric == "weekly_editors" && s.window == "current") {
        EXPECT_EQ(s.window_start_ms, kWeekOf2024_01_01);
        return s.value;
      }
    }
    return -1;
  }

  // What both ways in must end with (by hand from Messages()): editors u-1,
  // u-2, u-3; 8 consumed, 5 applied (m-1, m-2, page_viewed m-5, m-6, m-7),
  // 1 duplicate, 2 rejected; next offset 108 (offsets 100..107).
  void ExpectOutcome() {
    EXPECT_EQ(WeeklyEditors(), 3);
    const Pipeline::Counts& c = pipeline_->counts();
    EXPECT_EQ(c.consumed, 8u);
    EXPECT_EQ(c.applied, 5u);
    EXPECT_EQ(c.duplicate, 1u);
    EXPECT_EQ(c.late, 0u);
    EXPECT_EQ(c.rejected_total(), 2u);
    EXPECT_EQ(c.rejected[static_cast<size_t>(RejectReason::kInvalidJson)], 1u);
    EXPECT_EQ(c.rejected[static_cast<size_t>(RejectReason::kMissingTimestamp)], 1u);
    EXPECT_EQ(pipeline_->NextOffset("events", PartitionId(0)), KafkaOffset(108));
    EXPECT_EQ(pipeline_->NextOffset("events", PartitionId(1)), std::nullopt);  // never read
    EXPECT_EQ(rejects_,
              std::vector<std::string>(
                  {"102 key-102 not json invalid_json",
                   R"(106 key-106 {"event":"file_edited","userId":"u-4"} missing_timestamp)"}));
  }

  std::filesystem::path dir_;
  DaemonConfig config_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::string> rejects_;
};

TEST_F(PipelineTest, ProcessDecodesAndAppliesEachMessage) {
  const std::vector<std::string> messages = Messages();
  for (size_t i = 0; i < messages.size(); ++i) {
    const int64_t offset = 100 + static_cast<int64_t>(i);
    pipeline_->Process("events", PartitionId(0), KafkaOffset(offset), messages[i],
                       absl::StrCat("key-", offset));
  }
  pipeline_->Flush();
  ExpectOutcome();
}

// A reload that fails at its last fallible step (deleting the state of a
// removed metric, on a full disk) leaves the pipeline exactly as before:
// the old definitions keep counting and their rows stay in the store; the
// same reload succeeds once the disk has room.
TEST(PipelineReloadTest, AReloadThatFailsOnAFullDiskChangesNothing) {
  const std::filesystem::path dir = testing::MakeTempDir("pipeline_reload");
  auto fs = std::make_shared<testing::FailingFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  const std::string both = absl::StrCat(kConfig, R"(
  - name: edits
    role: input
    filter: {event: file_edited}
    measure: events
    window: {tumbling: week}
)");
  ConfigLoadResult old_config = ParseConfig(both, "old.yaml");
  ConfigLoadResult new_config = ParseConfig(kConfig, "new.yaml");
  ASSERT_TRUE(old_config.config && new_config.config);
  auto store = StateStore::OpenWithEnv((dir / "state").string(), "group", env.get());
  ASSERT_OK(store);
  auto pipeline = Pipeline::Create(*old_config.config, store->get(), nullptr);
  ASSERT_OK(pipeline);
  Pipeline& p = **pipeline;
  ASSERT_OK(p.LoadState());
  auto values = [&p] {
    std::map<std::string, double> out;
    for (const SeriesSample& s : p.Snapshot().samples) {
      if (s.window == "current") out[s.metric] = s.value;
    }
    return out;
  };
  auto edits_rows = [&store] {
    int n = 0;
    EXPECT_OK((*store)->ScanEngineState([&n](absl::string_view key, absl::string_view) {
      // weekly_editors is not partitioned by the key (none
      // is set): one whole-input task holds every row.
      n += absl::StartsWith(key, "t/*/m/edits/");
      return absl::OkStatus();
    }));
    return n;
  };
  p.Process("events", PartitionId(0), KafkaOffset(0), Edit("u-1", "m-1", 1));
  p.Process("events", PartitionId(0), KafkaOffset(1), Edit("u-1", "m-2", 2));
  ASSERT_OK(p.Checkpoint());
  ASSERT_EQ(edits_rows(), 1);  // the week's count

  fs->fail = true;
  const absl::Status failed = p.Reload(*new_config.config);
  // It failed deleting edits' rows (the checkpoint before had nothing to write).
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_TRUE(absl::StrContains(failed.message(), "cannot delete prefix \"t/*/m/edits/")) << failed;
  // Both old metrics still run, on the old decoder, and count the next edit.
  p.Process("events", PartitionId(0), KafkaOffset(2), Edit("u-2", "m-3", 3));
  p.Flush();
  EXPECT_EQ(values(), (std::map<std::string, double>{{"edits", 3}, {"weekly_editors", 2}}));
  fs->fail = false;
  ASSERT_OK(p.Checkpoint());
  EXPECT_EQ(edits_rows(), 1);

  // With room on the disk the same reload goes through: edits and its rows go.
  ASSERT_OK(p.Reload(*new_config.config));
  p.Process("events", PartitionId(0), KafkaOffset(3), Edit("u-3", "m-4", 4));
  p.Flush();
  EXPECT_EQ(values(), (std::map<std::string, double>{{"weekly_editors", 3}}));
  EXPECT_EQ(edits_rows(), 0);
  pipeline->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nsmd

namespace nsmd {
namespace {

// Events keyed by user: every metric is partitioned by the key, so each
// partition is a task of its own.
constexpr char kKeyedConfig[] = R"(
kafka:
  key_field: userId
state:
  dir: unused
events:
  format: segment
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
  - name: edits_per_editor
    role: input
    measure: {ratio: {numerator: edits, denominator: weekly_editors}}
)";

class PipelineTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pipeline_tasks");
    ConfigLoadResult loaded = ParseConfig(kKeyedConfig, "keyed.yaml");
    ASSERT_TRUE(loaded.config.has_value()) << loaded.diagnostics.front().ToString();
    config_ = std::move(*loaded.config);
    ASSERT_TRUE(Pipeline::PerPartitionTasks(config_));
    auto store = StateStore::Open((dir_ / "state").string(), "group");
    ASSERT_OK(store);
    store_ = std::move(*store);
    pipeline_ = NewPipeline();
  }
  void TearDown() override {
    pipeline_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Pipeline> NewPipeline() {
    auto pipeline = Pipeline::Create(config_, store_.get(), /*probe=*/nullptr);
    EXPECT_OK(pipeline);
    EXPECT_OK((*pipeline)->LoadState());
    return std::move(*pipeline);
  }

  // "metric/window" -> value.
  static std::map<std::string, double> Values(const Pipeline& p) {
    std::map<std::string, double> out;
    for (const SeriesSample& s : p.Snapshot().samples) out[s.metric + "/" + s.window] = s.value;
    return out;
  }

  int RowsUnder(absl::string_view prefix) {
    int n = 0;
    EXPECT_OK(store_->ScanEngineState([&](absl::string_view key, absl::string_view) {
      n += absl::StartsWith(key, prefix);
      return absl::OkStatus();
    }));
    return n;
  }

  // u-1 edits twice on partition 0; u-2 and u-3 once each on partition 1.
  void FeedTwoPartitions(Pipeline& p) {
    p.Process("events", PartitionId(0), KafkaOffset(0), Edit("u-1", "m-1", 1));
    p.Process("events", PartitionId(1), KafkaOffset(0), Edit("u-2", "m-2", 2));
    p.Process("events", PartitionId(0), KafkaOffset(1), Edit("u-1", "m-3", 3));
    p.Process("events", PartitionId(1), KafkaOffset(1), Edit("u-3", "m-4", 4));
    p.Flush();
  }

  std::filesystem::path dir_;
  DaemonConfig config_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTasksTest, TasksOfEachPartitionAddUpAndRatiosUseTheSums) {
  FeedTwoPartitions(*pipeline_);
  const std::vector<TopicPartitionId> owned = {{"events", PartitionId(0)},
                                               {"events", PartitionId(1)}};
  EXPECT_EQ(pipeline_->OwnedTasks(), owned);
  // 3 editors, 4 edits; 4/3 edits per editor (not 2/1 + 2/2).
  const std::map<std::string, double> values = Values(*pipeline_);
  EXPECT_EQ(values.at("weekly_editors/current"), 3);
  EXPECT_EQ(values.at("edits/current"), 4);
  EXPECT_DOUBLE_EQ(values.at("edits_per_editor/current"), 4.0 / 3.0);
  ASSERT_OK(pipeline_->Checkpoint());
  // Per task: the two week cells, the stream time, the two messageIds
  // (dedup, 24 h by default) and the counts; nothing outside tasks.
  EXPECT_EQ(RowsUnder("t/events/0/"), 6);
  EXPECT_EQ(RowsUnder("t/events/0/x/"), 2);
  EXPECT_EQ(RowsUnder("t/events/0/n"), 1);
  EXPECT_EQ(RowsUnder("t/events/1/"), 6);
  EXPECT_EQ(RowsUnder("t/*/"), 0);
  EXPECT_EQ(RowsUnder("m/"), 0);
}

TEST_F(PipelineTasksTest, ARevokedTaskLeavesAndItsNewOwnerLoadsItFromTheState) {
  FeedTwoPartitions(*pipeline_);
  ASSERT_OK(pipeline_->Checkpoint());
  pipeline_->RevokeTasks({{"events", PartitionId(1)}});
  EXPECT_EQ(pipeline_->OwnedTasks(), std::vector<TopicPartitionId>({{"events", PartitionId(0)}}));
  std::map<std::string, double> values = Values(*pipeline_);
  EXPECT_EQ(values.at("weekly_editors/current"), 1);
  EXPECT_EQ(values.at("edits/current"), 2);
  EXPECT_DOUBLE_EQ(values.at("edits_per_editor/current"), 2.0);

  // Another pipeline on the same state (an instance the group gives
  // partition 1 to) resumes it after its two messages, with its numbers.
  std::unique_ptr<Pipeline> other = NewPipeline();
  absl::StatusOr<std::vector<SourceOffset>> resume =
      other->AssignTasks({{"events", PartitionId(1)}});
  ASSERT_OK(resume);
  EXPECT_EQ(*resume, std::vector<SourceOffset>({{"events", PartitionId(1), KafkaOffset(2)}}));
  values = Values(*other);
  EXPECT_EQ(values.at("weekly_editors/current"), 2);
  EXPECT_EQ(values.at("edits/current"), 2);
  EXPECT_DOUBLE_EQ(values.at("edits_per_editor/current"), 1.0);
  // A partition never processed has no resume offset.
  resume = other->AssignTasks({{"events", PartitionId(7)}});
  ASSERT_OK(resume);
  EXPECT_TRUE(resume->empty());
}

TEST_F(PipelineTasksTest, ATasksCountsMoveWithIt) {
  FeedTwoPartitions(*pipeline_);
  // Partition 0 gets one more edit; partition 1 a line that is not JSON, a
  // duplicate of m-2, an edit at minute 300 and one at minute 180: late,
  // 2 h behind its task's stream time (allowed lateness: 1 h).
  pipeline_->Process("events", PartitionId(0), KafkaOffset(2), Edit("u-1", "m-5", 300));
  pipeline_->Process("events", PartitionId(1), KafkaOffset(2), "not json");
  pipeline_->Process("events", PartitionId(1), KafkaOffset(3), Edit("u-2", "m-2", 2));
  pipeline_->Process("events", PartitionId(1), KafkaOffset(4), Edit("u-3", "m-6", 300));
  pipeline_->Process("events", PartitionId(1), KafkaOffset(5), Edit("u-2", "m-7", 180));
  pipeline_->Flush();
  EventCounts first;  // partition 0: m-1, m-3, m-5
  first.consumed = 3;
  first.applied = 3;
  EventCounts second;  // partition 1: m-2, m-4, m-6; the rest as above
  second.consumed = 6;
  second.applied = 3;
  second.late = 1;
  second.duplicate = 1;
  second.rejected[static_cast<size_t>(RejectReason::kInvalidJson)] = 1;
  EventCounts both = first;
  both += second;
  EXPECT_EQ(both.consumed, 9u);
  EXPECT_EQ(pipeline_->OwnedTaskCounts(), both);
  ASSERT_OK(pipeline_->Checkpoint());
  pipeline_->RevokeTasks({{"events", PartitionId(1)}});
  EXPECT_EQ(pipeline_->OwnedTaskCounts(), first);

  // Partition 1's new owner, on the same state, shows its counts.
  std::unique_ptr<Pipeline> other = NewPipeline();
  ASSERT_OK(other->AssignTasks({{"events", PartitionId(1)}}));
  EXPECT_EQ(other->OwnedTaskCounts(), second);
}

TEST_F(PipelineTasksTest, EveryTaskIsReadAtTheNewestStreamTime) {
  FeedTwoPartitions(*pipeline_);
  // Partition 0 moves into the next week (2024-01-08, 10 080 minutes on);
  // partition 1 stays in the first. All tasks show the newest week as
  // current: partition 1's week is their previous one.
  pipeline_->Process("events", PartitionId(0), KafkaOffset(2), Edit("u-1", "m-5", 7 * 24 * 60));
  pipeline_->Flush();
  const std::map<std::string, double> values = Values(*pipeline_);
  EXPECT_EQ(values.at("weekly_editors/current"), 1);
  EXPECT_EQ(values.at("edits/current"), 1);
  EXPECT_EQ(values.at("weekly_editors/previous"), 3);
  EXPECT_EQ(values.at("edits/previous"), 4);
  EXPECT_EQ(pipeline_->stream_time(), EventTime(kWeekOf2024_01_01 + 7 * 24 * 3600 * 1000LL));
}

}  // namespace
}  // namespace nsmd
