// Tests for StrongInt through its two types, PartitionId and KafkaOffset:
// explicit only, the integer's size and order, hashing and printing.
#include "daemon/base/strong_int.h"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
static_assert(Comparable<PartitionId, PartitionId>);
static_assert(!Comparable<PartitionId, KafkaOffset>);

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

}  // namespace
}  // namespace nsmd
