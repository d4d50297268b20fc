// MemberSet: membership, and InsertAll on one thread and on two.
#include "daemon/engine/member_set.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/engine/member_hash.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// Hashes of "u-0" .. "u-<n-1>".
std::vector<absl::uint128> Users(int n) {
  std::vector<absl::uint128> out;
  for (int i = 0; i < n; ++i) out.push_back(HashMember(absl::StrCat("u-", i)));
  return out;
}

TEST(MemberSetTest, InsertTellsNewMembersFromKnownOnesInBothHalves) {
  MemberSet set;
  const absl::uint128 low_half = absl::MakeUint128(1, 2);                       // top bit 0
  const absl::uint128 high_half = absl::MakeUint128(uint64_t{1} << 63 | 1, 2);  // top bit 1
  EXPECT_TRUE(set.Insert(low_half));
  EXPECT_TRUE(set.Insert(high_half));
  EXPECT_FALSE(set.Insert(low_half));
  EXPECT_FALSE(set.Insert(high_half));
  EXPECT_EQ(set.size(), 2u);
}

// Fills a set with users 0..n-1 in chunks of 999 (and an empty one), plus a
// chunk repeating the first half of them, through InsertAll, and checks it
// holds exactly users 0..n-1.
void CheckInsertAll(int n) {
  const std::vector<absl::uint128> users = Users(n);
  std::vector<std::vector<absl::uint128>> chunks(1);  // the empty one
  for (size_t at = 0; at < users.size(); at += 999) {
    chunks.emplace_back(users.begin() + at, users.begin() + std::min(users.size(), at + 999));
  }
  chunks.emplace_back(users.begin(), users.begin() + n / 2);
  MemberSet set;
  ASSERT_TRUE(set.Insert(HashMember("u-0")));  // already there before: still one member
  set.InsertAll(chunks);
  EXPECT_EQ(set.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_FALSE(set.Insert(HashMember(absl::StrCat("u-", i)))) << i;
  EXPECT_TRUE(set.Insert(HashMember(absl::StrCat("u-", n))));
  EXPECT_EQ(set.size(), static_cast<size_t>(n) + 1);
}

TEST(MemberSetTest, InsertAllOnTheCallingThread) {
  CheckInsertAll(1000);  // 1,500 hashes, below kParallelInsertMin
}

TEST(MemberSetTest, InsertAllOnTwoThreads) {
  static_assert(MemberSet::kParallelInsertMin <= 1500000);
  CheckInsertAll(1000000);  // 1.5 M hashes
}

}  // namespace
}  // namespace nsmd
