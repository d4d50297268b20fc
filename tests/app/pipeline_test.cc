// Tests for Pipeline's two ways in: messages decoded inline (Process) and
// batches decoded ahead on another thread (DecodeWorker + ProcessBatch).
//
// Times: 2024-01-01T00:00:00Z (a Monday) is 1704067200000 ms: 19723 days *
// 86400 s since the epoch. The week of Monday 2024-01-01 therefore starts
// at 1704067200000.
#include "daemon/app/pipeline.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/app/decode_worker.h"
#include "daemon/config/config_loader.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"

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
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto pipeline = Pipeline::Create(config_, store_.get(), /*probe=*/nullptr);
    ASSERT_TRUE(pipeline.ok()) << pipeline.status();
    pipeline_ = std::move(*pipeline);
    ASSERT_TRUE(pipeline_->LoadState().ok());
    pipeline_->set_reject_sink([this](absl::string_view, int32_t, int64_t offset,
                                      absl::string_view key, absl::string_view payload,
                                      RejectReason reason, const absl::Status&) {
      rejects_.push_back(absl::StrCat(offset, " ", key, " ", payload, " ",
                                      RejectReasonName(reason)));
    });
  }
  void TearDown() override {
    pipeline_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The current week's value of weekly_editors.
  double WeeklyEditors() const {
    for (const SeriesSample& s : pipeline_->engine().Snapshot().samples) {
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
    EXPECT_EQ(pipeline_->NextOffset("events", 0), 108);
    EXPECT_EQ(pipeline_->NextOffset("events", 1), std::nullopt);  // never read
    EXPECT_EQ(rejects_, std::vector<std::string>(
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
    pipeline_->Process("events", 0, offset, messages[i], absl::StrCat("key-", offset));
  }
  pipeline_->Flush();
  ExpectOutcome();
}

TEST_F(PipelineTest, BatchesDecodedAheadOnAnotherThreadGiveTheSameOutcome) {
  DecodeWorker worker(pipeline_->NewDecoder());
  const std::vector<std::string> messages = Messages();
  // Three batches (3 + 3 + 2 messages), two in flight at once.
  for (size_t i = 0; i < messages.size(); ++i) {
    const int64_t offset = 100 + static_cast<int64_t>(i);
    const std::string key = absl::StrCat("key-", offset);
    SourceMessage m;
    m.topic = "events";
    m.offset = offset;
    m.key = key;
    m.payload = messages[i];
    worker.filling()->Add(m);
    if (worker.filling()->size() == 3) worker.Submit();
  }
  EXPECT_EQ(worker.in_flight(), 2u);
  worker.Submit();
  EXPECT_EQ(worker.in_flight(), 3u);
  std::vector<size_t> sizes;
  while (worker.in_flight() > 0) {
    worker.TakeOldest([&](const DecodedBatch& batch) {
      sizes.push_back(batch.size());
      pipeline_->ProcessBatch(batch);
    });
  }
  EXPECT_EQ(sizes, std::vector<size_t>({3, 3, 2}));
  ExpectOutcome();
}

TEST_F(PipelineTest, AnEmptyBatchIsNotSubmitted) {
  DecodeWorker worker(pipeline_->NewDecoder());
  worker.Submit();
  EXPECT_EQ(worker.in_flight(), 0u);
  EXPECT_TRUE(worker.filling()->empty());
}

}  // namespace
}  // namespace nsmd
