// Tests for DecodedBatch: messages taken from a source, decoded in one go,
// and owning their events once decoded.
//
// Times: 2024-03-31T01:30:00Z is 1711848600000 ms (iso_timestamp_test.cc).
#include "daemon/decode/decoded_batch.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

constexpr int64_t kMar31At0130Utc = 1711848600000;

class DecodedBatchTest : public ::testing::Test {
 protected:
  DecodedBatchTest() {
    user_ = catalog_.Intern("userId");
    plan_ = catalog_.Intern("properties.plan");
    EventDecoderOptions options;
    options.max_future_skew = absl::InfiniteDuration();
    decoder_ = std::make_unique<EventDecoder>(EventFormat::Segment(), &catalog_, options);
  }

  // Adds `payload` (copied: the buffer is overwritten afterwards) at
  // topic "events", partition 3, `offset`.
  void Add(DecodedBatch* batch, std::string payload, int64_t offset, std::string key = "k") {
    SourceMessage m;
    m.topic = "events";
    m.partition = PartitionId(3);
    m.offset = KafkaOffset(offset);
    m.key = key;
    m.payload = payload;
    batch->Add(m);
    payload.assign(payload.size(), 'x');
    key.assign(key.size(), 'x');
  }

  FieldCatalog catalog_;
  FieldId user_, plan_;
  std::unique_ptr<EventDecoder> decoder_;
};

TEST_F(DecodedBatchTest, DecodesEachMessageInOrderIntoAnEventOrARejection) {
  DecodedBatch batch;
  Add(&batch,
      R"({"event":"file_edited","userId":"u-1","messageId":"m-1",)"
      R"("timestamp":"2024-03-31T01:30:00Z","properties":{"plan":"pro"}})",
      40);
  Add(&batch, "{not json", 41, "bad-key");
  Add(&batch, R"({"event":"page_viewed","userId":"u-2","timestamp":1711848600001})", 42);
  batch.Decode(decoder_.get());

  ASSERT_EQ(batch.size(), 3u);
  const DecodedBatch::Message& first = batch[0];
  EXPECT_EQ(first.source.topic, "events");
  EXPECT_EQ(first.source.partition, PartitionId(3));
  EXPECT_EQ(first.source.offset, KafkaOffset(40));
  ASSERT_NE(first.event, nullptr);
  EXPECT_EQ(first.event->name, "file_edited");
  EXPECT_EQ(first.event->id, "m-1");
  EXPECT_EQ(first.event->time, EventTime(kMar31At0130Utc));
  EXPECT_EQ(first.event->field(user_).str, "u-1");
  EXPECT_EQ(first.event->field(plan_).str, "pro");
  // A decoded message's bytes are no longer held.
  EXPECT_TRUE(first.source.payload.empty());

  const DecodedBatch::Message& bad = batch[1];
  EXPECT_EQ(bad.event, nullptr);
  EXPECT_EQ(bad.reason, RejectReason::kInvalidJson);
  EXPECT_FALSE(bad.error.ok());
  EXPECT_EQ(bad.source.offset, KafkaOffset(41));
  // A rejected one keeps its key and payload (for the dead-letter topic).
  EXPECT_EQ(bad.source.key, "bad-key");
  EXPECT_EQ(bad.source.payload, "{not json");

  ASSERT_NE(batch[2].event, nullptr);
  EXPECT_EQ(batch[2].event->name, "page_viewed");
  EXPECT_EQ(batch[2].event->id, "");
  EXPECT_EQ(batch[2].event->time, EventTime(kMar31At0130Utc + 1));
  EXPECT_EQ(batch[2].event->field(user_).str, "u-2");
  EXPECT_EQ(batch[2].event->field(plan_).kind, FieldValue::Kind::kMissing);
}

TEST_F(DecodedBatchTest, EventsStayValidAfterTheDecoderMovesOn) {
  DecodedBatch batch;
  // An escaped string is unescaped into the decoder's own buffer.
  Add(&batch, R"({"event":"file_edited","userId":"u-\"q\"","timestamp":1711848600000})", 0);
  batch.Decode(decoder_.get());
  const Event* other = nullptr;
  RejectReason reason;
  ASSERT_OK(decoder_->Decode(R"({"event":"comment_added","userId":"v-\"zzz\"","timestamp":5})",
                             &other, &reason));
  ASSERT_NE(batch[0].event, nullptr);
  EXPECT_EQ(batch[0].event->name, "file_edited");
  EXPECT_EQ(batch[0].event->field(user_).str, "u-\"q\"");
  EXPECT_EQ(batch[0].event->time, EventTime(kMar31At0130Utc));
}

TEST_F(DecodedBatchTest, LentBytesGoBackWhenDecodedOrWhenARejectionIsCleared) {
  // Each lent message counts its release.
  static std::vector<int> released;
  released.clear();
  std::string good = R"({"event":"file_edited","userId":"u-1","timestamp":1711848600000})";
  std::string bad = "[1]";
  DecodedBatch batch;
  int id = 0;
  for (const std::string* payload : {&good, &bad}) {
    SourceMessage m;
    m.topic = "events";
    m.offset = KafkaOffset(id);
    m.payload = *payload;  // borrowed, not copied
    m.lease = MessageLease(new int(id++), [](void* p) {
      released.push_back(*static_cast<int*>(p));
      delete static_cast<int*>(p);
    });
    batch.Add(m);
    EXPECT_FALSE(m.lease);  // taken
  }
  EXPECT_TRUE(released.empty());
  batch.Decode(decoder_.get());
  EXPECT_EQ(released, std::vector<int>({0}));  // the decoded one
  EXPECT_EQ(batch[1].reason, RejectReason::kNotObject);
  EXPECT_EQ(batch[1].source.payload.data(), bad.data());  // still the lent bytes
  batch.Clear();
  EXPECT_EQ(released, std::vector<int>({0, 1}));
}

TEST_F(DecodedBatchTest, AClearedBatchHoldsOnlyWhatIsAddedNext) {
  DecodedBatch batch;
  Add(&batch, R"({"event":"a","userId":"u-1","timestamp":1})", 7);
  Add(&batch, R"({"event":"b","userId":"u-2","timestamp":2})", 8);
  batch.Decode(decoder_.get());
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  Add(&batch, "{}", 9);
  batch.Decode(decoder_.get());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].source.offset, KafkaOffset(9));
  EXPECT_EQ(batch[0].event, nullptr);
  EXPECT_EQ(batch[0].reason, RejectReason::kMissingName);
}

}  // namespace
}  // namespace nsmd
