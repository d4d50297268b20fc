#include "daemon/decode/event_counts.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

TEST(EventCountsTest, EncodesNonZeroCountsByName) {
  EventCounts c;
  c.consumed = 12;
  c.applied = 9;
  c.duplicate = 1;
  c.rejected[static_cast<size_t>(RejectReason::kInvalidJson)] = 2;
  EXPECT_EQ(c.Encode(), "consumed=12 applied=9 duplicate=1 rejected.invalid_json=2");
  EXPECT_EQ(EventCounts().Encode(), "");
}

TEST(EventCountsTest, DecodesWhatItEncodes) {
  EventCounts c;
  c.consumed = 7;
  c.late = 3;
  c.rejected[static_cast<size_t>(RejectReason::kFutureTimestamp)] = 4;
  EventCounts back;
  back.applied = 99;  // overwritten: names not listed are 0
  ASSERT_OK(EventCounts::Decode(c.Encode(), &back));
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.rejected_total(), 4u);
}

TEST(EventCountsTest, RefusesUnknownNamesAndBadCounts) {
  EventCounts out;
  out.consumed = 5;
  EXPECT_EQ(EventCounts::Decode("consumed=1 dropped=2", &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(EventCounts::Decode("consumed=x", &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(EventCounts::Decode("consumed", &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(out.consumed, 5u);  // untouched on error
}

TEST(EventCountsTest, PlusEqualsAddsEveryCount) {
  EventCounts a;
  a.consumed = 2;
  a.rejected[0] = 1;
  EventCounts b;
  b.consumed = 3;
  b.applied = 1;
  b.rejected[0] = 2;
  a += b;
  EXPECT_EQ(a.consumed, 5u);
  EXPECT_EQ(a.applied, 1u);
  EXPECT_EQ(a.rejected[0], 3u);
}

}  // namespace
}  // namespace nsmd
