#include "daemon/engine/rolling_members.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/engine/member_hash.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

const StateKey kKey("m/active/f1/");

// Rows of kind "rdh" of group "" in `delta`, in key order, and whether they
// are deletions.
std::vector<std::pair<std::string, bool>> BlobRows(const StateDelta& delta) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& [key, value] : delta.entries()) out.emplace_back(key, value.has_value());
  return out;
}

TEST(RollingMembersTest, CountsMembersByLastSecondSeen) {
  RollingMembers m;
  EXPECT_TRUE(m.Add(HashMember("u1"), 100));
  EXPECT_TRUE(m.Add(HashMember("u2"), 105));
  EXPECT_FALSE(m.Add(HashMember("u1"), 100));  // not newer
  EXPECT_FALSE(m.Add(HashMember("u1"), 90));   // older: u1 stays at 100
  EXPECT_TRUE(m.Add(HashMember("u1"), 110));   // u1 moves to 110
  // u1 at 110, u2 at 105.
  EXPECT_EQ(m.CountBetween(100, 120), 2);
  EXPECT_EQ(m.CountBetween(106, 120), 1);
  EXPECT_EQ(m.CountBetween(100, 104), 0);  // u1 is no longer at 100
  EXPECT_EQ(m.size(), 2u);
}

TEST(RollingMembersTest, OneBlobPerCheckpointRestoredToTheNewestSecond) {
  RollingMembers m;
  m.Add(HashMember("u1"), 100);
  m.Add(HashMember("u2"), 101);
  StateDelta first;
  m.WriteChanges(kKey, "", &first);
  // One row, 2 entries of 24 bytes.
  ASSERT_EQ(first.entries().size(), 1u);
  EXPECT_EQ(first.entries().begin()->first, kKey.Make({"rdh", "", "0"}));
  EXPECT_EQ(first.entries().begin()->second->size(), 48u);
  StateDelta nothing;
  m.WriteChanges(kKey, "", &nothing);
  EXPECT_TRUE(nothing.empty());

  m.Add(HashMember("u1"), 200);  // u1 again, later
  StateDelta second;
  m.WriteChanges(kKey, "", &second);
  ASSERT_EQ(second.entries().size(), 1u);
  EXPECT_EQ(second.entries().begin()->first, kKey.Make({"rdh", "", "1"}));
  EXPECT_EQ(second.entries().begin()->second->size(), 24u);  // only u1
  EXPECT_EQ(m.blob_entries(), 3u);

  // Restored from both rows in key order: u1 at 200 (its newest), u2 at 101.
  RollingMembers restored;
  ASSERT_OK(restored.Restore("1", *second.entries().begin()->second));
  ASSERT_OK(restored.Restore("0", *first.entries().begin()->second));
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored.CountBetween(200, 200), 1);
  EXPECT_EQ(restored.CountBetween(101, 101), 1);
  EXPECT_EQ(restored.CountBetween(100, 100), 0);
  EXPECT_EQ(restored.blob_entries(), 3u);
  // New blobs continue after the highest sequence restored.
  restored.Add(HashMember("u3"), 300);
  StateDelta third;
  restored.WriteChanges(kKey, "", &third);
  EXPECT_EQ(third.entries().begin()->first, kKey.Make({"rdh", "", "2"}));

  EXPECT_FALSE(restored.Restore("x", "").ok());
  EXPECT_FALSE(restored.Restore("3", std::string(23, 'a')).ok());
}

TEST(RollingMembersTest, ExpireForgetsOldMembersAndDeletesBlobsWhollyOlder) {
  RollingMembers m;
  m.Add(HashMember("u1"), 100);
  StateDelta d0;
  m.WriteChanges(kKey, "", &d0);  // blob 0: newest 100
  m.Add(HashMember("u2"), 150);
  m.Add(HashMember("u3"), 300);
  StateDelta d1;
  m.WriteChanges(kKey, "", &d1);  // blob 1: newest 300
  StateDelta expired;
  m.Expire(200, kKey, "", &expired);
  // u1 (100) and u2 (150) are gone; blob 0 is deleted, blob 1 still holds u3.
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.CountBetween(0, 1000), 1);
  EXPECT_EQ(BlobRows(expired),
            (std::vector<std::pair<std::string, bool>>{{kKey.Make({"rdh", "", "0"}), false}}));
  EXPECT_EQ(m.blob_entries(), 2u);
}

TEST(RollingMembersTest, CompactionReplacesTheBlobsWithTheLiveMembers) {
  RollingMembers m;
  // One member seen again in checkpoint after checkpoint: the blobs grow by
  // one entry each time while one member is live, until they exceed
  // 2 * 1 + kCompactionSlack entries.
  const size_t limit = 2 + RollingMembers::kCompactionSlack;
  int64_t second = 1000;
  for (size_t i = 0; i < limit; ++i) {
    m.Add(HashMember("u1"), ++second);
    StateDelta d;
    m.WriteChanges(kKey, "", &d);
    ASSERT_TRUE(d.prefix_deletions().empty()) << i;
  }
  EXPECT_EQ(m.blob_entries(), limit);
  m.Add(HashMember("u1"), ++second);
  StateDelta compacted;
  m.WriteChanges(kKey, "", &compacted);
  // Every blob of the group goes, one blob of the one live member replaces them.
  EXPECT_EQ(compacted.prefix_deletions().size(), 1u);
  EXPECT_EQ(*compacted.prefix_deletions().begin(), kKey.Make({"rdh", "", ""}));
  ASSERT_EQ(compacted.entries().size(), 1u);
  EXPECT_EQ(compacted.entries().begin()->first, kKey.Make({"rdh", "", absl::StrCat(limit)}));
  EXPECT_EQ(compacted.entries().begin()->second->size(), 24u);
  EXPECT_EQ(m.blob_entries(), 1u);
  RollingMembers restored;
  ASSERT_OK(restored.Restore(absl::StrCat(limit), *compacted.entries().begin()->second));
  EXPECT_EQ(restored.CountBetween(second, second), 1);
}

}  // namespace
}  // namespace nsmd
