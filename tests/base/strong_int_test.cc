// Tests for StrongInt through its three types, PartitionId, KafkaOffset and
// EventTime: explicit only, the integer's size and order, hashing and
// printing; and EventTime's exact conversions to and from absl::Time.
#include "daemon/base/strong_int.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// A sink for AbslStringify, as absl::StrCat would pass one.
struct StringSink {
  std::string text;
  void Append(absl::string_view v) { text.append(v.data(), v.size()); }
  void Append(size_t n, char c) { text.append(n, c); }
};

static_assert(std::is_trivially_copyable_v<PartitionId>);
static_assert(sizeof(PartitionId) == sizeof(int32_t));
static_assert(!std::is_convertible_v<int32_t, PartitionId>);
static_assert(!std::is_convertible_v<PartitionId, int32_t>);
static_assert(std::is_trivially_copyable_v<KafkaOffset>);
static_assert(sizeof(KafkaOffset) == sizeof(int64_t));
static_assert(!std::is_convertible_v<int64_t, KafkaOffset>);
static_assert(!std::is_convertible_v<KafkaOffset, int64_t>);
// Two kinds never compare: no operator== takes a PartitionId and a
// KafkaOffset.
template <typename A, typename B>
concept Comparable = requires(A a, B b) {
  a == b;
};
template <typename A, typename B>
concept Ordered = requires(A a, B b) {
  a < b;
};
static_assert(Comparable<PartitionId, PartitionId>);
static_assert(!Comparable<PartitionId, KafkaOffset>);

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
static_assert(Comparable<EventTime, EventTime>);
static_assert(Ordered<EventTime, EventTime>);
static_assert(!Comparable<EventTime, KafkaOffset>);
static_assert(!Comparable<KafkaOffset, EventTime>);
static_assert(!Comparable<EventTime, int64_t>);
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

TEST(StrongIntTest, HoldsTheInteger) {
  EXPECT_EQ(PartitionId().value(), 0);
  EXPECT_EQ(PartitionId(7).value(), 7);
  EXPECT_EQ(KafkaOffset(int64_t{1} << 40).value(), 1099511627776);
  constexpr PartitionId kThree(3);
  static_assert(kThree.value() == 3);
}

TEST(StrongIntTest, OrdersAsTheInteger) {
  EXPECT_EQ(PartitionId(2), PartitionId(2));
  EXPECT_NE(PartitionId(2), PartitionId(3));
  EXPECT_LT(PartitionId(2), PartitionId(3));
  EXPECT_GT(KafkaOffset(100), KafkaOffset(99));
  EXPECT_LE(KafkaOffset(0), KafkaOffset(0));
}

TEST(StrongIntTest, NextOffsetIsOnePastIt) {
  EXPECT_EQ(KafkaOffset(0).Next(), KafkaOffset(1));
  EXPECT_EQ(KafkaOffset(41).Next().Next(), KafkaOffset(43));
  static_assert(KafkaOffset(9).Next().value() == 10);
  EXPECT_LT(KafkaOffset(5), KafkaOffset(5).Next());
}

TEST(StrongIntTest, HashesAsTheIntegerInAFlatHashSet) {
  EXPECT_EQ(absl::Hash<PartitionId>()(PartitionId(5)), absl::Hash<PartitionId>()(PartitionId(5)));
  absl::flat_hash_set<PartitionId> partitions = {PartitionId(0), PartitionId(1), PartitionId(1)};
  EXPECT_EQ(partitions.size(), 2u);
  EXPECT_TRUE(partitions.contains(PartitionId(1)));
  EXPECT_FALSE(partitions.contains(PartitionId(2)));
  absl::flat_hash_set<KafkaOffset> offsets = {KafkaOffset(7), KafkaOffset(6).Next()};
  EXPECT_EQ(offsets.size(), 1u);
}

TEST(StrongIntTest, AbsentOffsetIsNullopt) {
  std::optional<KafkaOffset> none;
  EXPECT_NE(none, std::optional<KafkaOffset>(KafkaOffset(0)));
  std::optional<KafkaOffset> some = KafkaOffset(0);
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(some->Next().value(), 1);
}

TEST(StrongIntTest, PrintsAsTheInteger) {
  StringSink sink;
  AbslStringify(sink, KafkaOffset(1234567890123));
  EXPECT_EQ(sink.text, "1234567890123");
  EXPECT_EQ(absl::StrFormat("p%d|%3d|%-3d|", PartitionId(4), PartitionId(5), PartitionId(6)),
            "p4|  5|6  |");
  EXPECT_EQ(absl::StrFormat("@%d|%4d|", KafkaOffset(42), KafkaOffset(7)), "@42|   7|");
#if ABSL_LTS_RELEASE_VERSION >= 20230125
  EXPECT_EQ(absl::StrCat("orders/", PartitionId(3)), "orders/3");
#endif
}

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
