#include "daemon/base/kafka_offset.h"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// A sink for AbslStringify, as absl::StrCat would pass one.
struct StringSink {
  std::string text;
  void Append(absl::string_view v) { text.append(v.data(), v.size()); }
  void Append(size_t n, char c) { text.append(n, c); }
};

static_assert(std::is_trivially_copyable_v<KafkaOffset>);
static_assert(sizeof(KafkaOffset) == sizeof(int64_t));
static_assert(!std::is_convertible_v<int64_t, KafkaOffset>);
static_assert(!std::is_convertible_v<KafkaOffset, int64_t>);

TEST(KafkaOffsetTest, HoldsTheOffset) {
  EXPECT_EQ(KafkaOffset().value(), 0);
  EXPECT_EQ(KafkaOffset(41).value(), 41);
  EXPECT_EQ(KafkaOffset(int64_t{1} << 40).value(), 1099511627776);
}

TEST(KafkaOffsetTest, NextIsOnePastIt) {
  EXPECT_EQ(KafkaOffset(0).Next(), KafkaOffset(1));
  EXPECT_EQ(KafkaOffset(41).Next().value(), 42);
  EXPECT_EQ(KafkaOffset(41).Next().Next(), KafkaOffset(43));
  static_assert(KafkaOffset(9).Next().value() == 10);
}

TEST(KafkaOffsetTest, OrdersByOffset) {
  EXPECT_EQ(KafkaOffset(5), KafkaOffset(5));
  EXPECT_NE(KafkaOffset(5), KafkaOffset(6));
  EXPECT_LT(KafkaOffset(5), KafkaOffset(6));
  EXPECT_LT(KafkaOffset(5), KafkaOffset(5).Next());
  EXPECT_GT(KafkaOffset(100), KafkaOffset(99));
}

TEST(KafkaOffsetTest, HashesConsistentlyInAFlatHashSet) {
  EXPECT_EQ(absl::Hash<KafkaOffset>()(KafkaOffset(7)), absl::Hash<KafkaOffset>()(KafkaOffset(7)));
  absl::flat_hash_set<KafkaOffset> set = {KafkaOffset(7), KafkaOffset(6).Next(), KafkaOffset(8)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(KafkaOffset(8)));
  EXPECT_FALSE(set.contains(KafkaOffset(9)));
}

TEST(KafkaOffsetTest, AbsentIsNullopt) {
  std::optional<KafkaOffset> none;
  EXPECT_FALSE(none.has_value());
  EXPECT_NE(none, std::optional<KafkaOffset>(KafkaOffset(0)));
  std::optional<KafkaOffset> some = KafkaOffset(0);
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(*some, KafkaOffset(0));
  EXPECT_EQ(some->Next().value(), 1);
}

TEST(KafkaOffsetTest, Prints) {
  StringSink sink;
  AbslStringify(sink, KafkaOffset(1234567890123));
  EXPECT_EQ(sink.text, "1234567890123");
  EXPECT_EQ(absl::StrFormat("@%d|%4d|", KafkaOffset(42), KafkaOffset(7)), "@42|   7|");
  EXPECT_EQ(absl::StrCat("offset ", KafkaOffset(42).value()), "offset 42");
#if ABSL_LTS_RELEASE_VERSION >= 20230125
  EXPECT_EQ(absl::StrCat("offset ", KafkaOffset(42)), "offset 42");
#endif
}

}  // namespace
}  // namespace nsmd
