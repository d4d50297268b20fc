#include "daemon/base/partition_id.h"

#include <cstdint>
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

static_assert(std::is_trivially_copyable_v<PartitionId>);
static_assert(sizeof(PartitionId) == sizeof(int32_t));
static_assert(!std::is_convertible_v<int32_t, PartitionId>);
static_assert(!std::is_convertible_v<PartitionId, int32_t>);

TEST(PartitionIdTest, HoldsTheNumber) {
  EXPECT_EQ(PartitionId().value(), 0);
  EXPECT_EQ(PartitionId(7).value(), 7);
  constexpr PartitionId kThree(3);
  static_assert(kThree.value() == 3);
}

TEST(PartitionIdTest, OrdersByNumber) {
  EXPECT_EQ(PartitionId(2), PartitionId(2));
  EXPECT_NE(PartitionId(2), PartitionId(3));
  EXPECT_LT(PartitionId(2), PartitionId(3));
  EXPECT_GT(PartitionId(10), PartitionId(9));
  EXPECT_LE(PartitionId(0), PartitionId(0));
}

TEST(PartitionIdTest, HashesConsistentlyInAFlatHashSet) {
  EXPECT_EQ(absl::Hash<PartitionId>()(PartitionId(5)), absl::Hash<PartitionId>()(PartitionId(5)));
  absl::flat_hash_set<PartitionId> set = {PartitionId(0), PartitionId(1), PartitionId(1)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(PartitionId(1)));
  EXPECT_FALSE(set.contains(PartitionId(2)));
}

TEST(PartitionIdTest, Prints) {
  StringSink sink;
  AbslStringify(sink, PartitionId(12));
  EXPECT_EQ(sink.text, "12");
  EXPECT_EQ(absl::StrFormat("p%d|%3d|%-3d|", PartitionId(4), PartitionId(5), PartitionId(6)),
            "p4|  5|6  |");
  EXPECT_EQ(absl::StrCat("orders/", PartitionId(3).value()), "orders/3");
#if ABSL_LTS_RELEASE_VERSION >= 20230125
  EXPECT_EQ(absl::StrCat("orders/", PartitionId(3)), "orders/3");
#endif
}

}  // namespace
}  // namespace nsmd
