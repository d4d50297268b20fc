#include "daemon/app/checkpoint_writer.h"

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

class CheckpointWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("checkpoint-writer");
    auto store = StateStore::Open((dir_ / "state").string(), "group-a");
    ASSERT_OK(store);
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  KeyValues Scan() const {
    KeyValues out;
    EXPECT_OK(store_->ScanEngineState([&](absl::string_view k, absl::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return absl::OkStatus();
    }));
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(CheckpointWriterTest, NothingInFlightHasNoResult) {
  CheckpointWriter writer(store_.get());
  EXPECT_FALSE(writer.busy());
  EXPECT_FALSE(writer.Finish(/*wait=*/false).has_value());
  EXPECT_FALSE(writer.Finish(/*wait=*/true).has_value());
}

TEST_F(CheckpointWriterTest, WritesStateAndOffsetsTogetherInTheBackground) {
  CheckpointWriter writer(store_.get());
  StateDelta delta;
  delta.Put("m/a/1/c/0/", "3");
  delta.Put("m/a/1/c/1/", "4");
  writer.Start(std::move(delta), {{"events", PartitionId(0), KafkaOffset(17)},
                                  {"events", PartitionId(1), KafkaOffset(5)}});
  EXPECT_TRUE(writer.busy());
  // Polled without waiting until it is done (bounded).
  std::optional<CheckpointWriter::Result> done;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); !done && absl::Now() < deadline;) {
    done = writer.Finish(/*wait=*/false);
    if (!done) absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(writer.busy());
  EXPECT_OK(done->status);
  EXPECT_EQ(done->keys, 2u);
  EXPECT_EQ(done->offsets, (std::vector<SourceOffset>{{"events", PartitionId(0), KafkaOffset(17)},
                                                      {"events", PartitionId(1), KafkaOffset(5)}}));
  EXPECT_EQ(Scan(), (KeyValues{{"m/a/1/c/0/", "3"}, {"m/a/1/c/1/", "4"}}));
  auto offsets = store_->LoadOffsets();
  ASSERT_OK(offsets);
  EXPECT_EQ(*offsets, (std::vector<SourceOffset>{{"events", PartitionId(0), KafkaOffset(17)},
                                                 {"events", PartitionId(1), KafkaOffset(5)}}));

  // A second one after the first was taken.
  StateDelta more;
  more.Delete("m/a/1/c/0/");
  writer.Start(std::move(more), {{"events", PartitionId(0), KafkaOffset(18)}});
  done = writer.Finish(/*wait=*/true);
  ASSERT_TRUE(done.has_value());
  EXPECT_OK(done->status);
  EXPECT_EQ(Scan(), (KeyValues{{"m/a/1/c/1/", "4"}}));
}

TEST_F(CheckpointWriterTest, RefusedBatchComesBackWholeAndNothingIsStored) {
  CheckpointWriter writer(store_.get());
  StateDelta delta;
  delta.Put("m/a/1/c/0/", "3");
  delta.Put("o/events/0", "99");  // the store's own namespace: Commit refuses the batch
  writer.Start(std::move(delta), {{"events", PartitionId(0), KafkaOffset(17)}});
  std::optional<CheckpointWriter::Result> done = writer.Finish(/*wait=*/true);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status.code(), absl::StatusCode::kInvalidArgument) << done->status;
  ASSERT_EQ(done->delta.entries().size(), 2u);
  EXPECT_EQ(done->delta.entries().begin()->first, "m/a/1/c/0/");
  EXPECT_EQ(*done->delta.entries().begin()->second, "3");
  EXPECT_TRUE(Scan().empty());
  auto offsets = store_->LoadOffsets();
  ASSERT_OK(offsets);
  EXPECT_TRUE(offsets->empty());
}

TEST_F(CheckpointWriterTest, DestructionWaitsForTheWriteInFlight) {
  {
    CheckpointWriter writer(store_.get());
    StateDelta delta;
    delta.Put("m/a/1/c/0/", "7");
    writer.Start(std::move(delta), {{"events", PartitionId(0), KafkaOffset(1)}});
  }  // not taken: the destructor still lets it finish
  EXPECT_EQ(Scan(), (KeyValues{{"m/a/1/c/0/", "7"}}));
}

}  // namespace
}  // namespace nsmd
