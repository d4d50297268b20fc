// Tests for EventTime: explicit only, kept apart from offsets and bare
// integers, and exact conversions to and from absl::Time.
#include "daemon/base/event_time.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "daemon/base/kafka_offset.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

static_assert(std::is_trivially_copyable_v<EventTime>);
static_assert(sizeof(EventTime) == sizeof(int64_t));
// Never built from or turned into an integer or an offset implicitly.
static_assert(!std::is_convertible_v<int64_t, EventTime>);
static_assert(!std::is_convertible_v<EventTime, int64_t>);
static_assert(!std::is_convertible_v<KafkaOffset, EventTime>);
static_assert(!std::is_convertible_v<EventTime, KafkaOffset>);
static_assert(!std::is_constructible_v<EventTime, KafkaOffset>);
static_assert(!std::is_constructible_v<KafkaOffset, EventTime>);
static_assert(!std::is_convertible_v<absl::Time, EventTime>);
static_assert(!std::is_assignable_v<EventTime&, int64_t>);

// No operator== or operator< takes an EventTime and anything but another.
template <typename A, typename B>
concept EqualityComparable = requires(A a, B b) {
  a == b;
};
template <typename A, typename B>
concept Ordered = requires(A a, B b) {
  a < b;
};
static_assert(EqualityComparable<EventTime, EventTime>);
static_assert(Ordered<EventTime, EventTime>);
static_assert(!EqualityComparable<EventTime, KafkaOffset>);
static_assert(!EqualityComparable<KafkaOffset, EventTime>);
static_assert(!EqualityComparable<EventTime, int64_t>);
static_assert(!Ordered<EventTime, KafkaOffset>);
static_assert(!Ordered<EventTime, int64_t>);
static_assert(!Ordered<int64_t, EventTime>);

// No arithmetic: a time plus a count or another time means nothing.
template <typename A, typename B>
concept Addable = requires(A a, B b) {
  a + b;
};
static_assert(!Addable<EventTime, int64_t>);
static_assert(!Addable<EventTime, EventTime>);

TEST(EventTimeTest, HoldsTheMilliseconds) {
  EXPECT_EQ(EventTime().millis(), 0);
  EXPECT_EQ(EventTime(1700000000123).millis(), 1700000000123);
  EXPECT_EQ(EventTime(-1).millis(), -1);
  constexpr EventTime kTime(86400000);
  static_assert(kTime.millis() == 86400000);
  static_assert(kTime.millis() == kTime.value());
}

TEST(EventTimeTest, OrdersAsTheMilliseconds) {
  EXPECT_EQ(EventTime(5), EventTime(5));
  EXPECT_NE(EventTime(5), EventTime(6));
  EXPECT_LT(EventTime(-1), EventTime());
  EXPECT_GT(EventTime(1700000000001), EventTime(1700000000000));
  EXPECT_EQ(std::max(EventTime(3), EventTime(9)), EventTime(9));
}

TEST(EventTimeTest, ToTimeIsTheSameInstant) {
  EXPECT_EQ(EventTime(1700000000123).ToTime(), absl::FromUnixMillis(1700000000123));
  EXPECT_EQ(EventTime().ToTime(), absl::UnixEpoch());
  EXPECT_EQ(EventTime(-1).ToTime(), absl::UnixEpoch() - absl::Milliseconds(1));
  // 2024-03-31T01:30:00Z.
  EXPECT_EQ(EventTime(1711848600000).ToTime(),
            absl::FromCivil(absl::CivilSecond(2024, 3, 31, 1, 30, 0), absl::UTCTimeZone()));
}

TEST(EventTimeTest, FromTimeRoundsDownToAMillisecond) {
  EXPECT_EQ(EventTime::FromTime(absl::FromUnixMillis(1700000000123)), EventTime(1700000000123));
  EXPECT_EQ(EventTime::FromTime(absl::FromUnixMicros(1700000000123999)), EventTime(1700000000123));
  // Before the epoch, down is away from zero.
  EXPECT_EQ(EventTime::FromTime(absl::FromUnixMicros(-1)), EventTime(-1));
  EXPECT_EQ(EventTime::FromTime(absl::UnixEpoch()), EventTime());
  EXPECT_EQ(EventTime::FromTime(absl::InfiniteFuture()),
            EventTime(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(EventTime::FromTime(absl::InfinitePast()),
            EventTime(std::numeric_limits<int64_t>::min()));
  // A round trip keeps every millisecond.
  for (int64_t ms : {int64_t{-86400001}, int64_t{0}, int64_t{253402300799999}}) {
    EXPECT_EQ(EventTime::FromTime(EventTime(ms).ToTime()), EventTime(ms)) << ms;
  }
}

TEST(EventTimeTest, HashesAndPrintsAsTheMilliseconds) {
  absl::flat_hash_set<EventTime> times = {EventTime(1), EventTime(2), EventTime(1)};
  EXPECT_EQ(times.size(), 2u);
  EXPECT_TRUE(times.contains(EventTime(2)));
  EXPECT_EQ(absl::StrFormat("t=%d|%15d|", EventTime(1700000000123), EventTime(5)),
            "t=1700000000123|              5|");
}

}  // namespace
}  // namespace nsmd
