// DedupIndex: duplicates within the horizon, expiry, and its persisted rows
// (one row per checkpoint, see dedup_index.h for the format).
#include "daemon/engine/dedup_index.h"

#include <map>
#include <string>

#include "daemon/engine/member_hash.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

// The rows a delta holds, as key -> value ("" value with deleted = true).
struct Rows {
  std::map<std::string, std::string> puts;
  std::map<std::string, bool> deletes;
};
Rows Collect(const StateDelta& delta) {
  Rows rows;
  for (const auto& [key, value] : delta.entries()) {
    if (value) {
      rows.puts[key] = *value;
    } else {
      rows.deletes[key] = true;
    }
  }
  return rows;
}

// One encoded entry, written out by hand: fixed64 LE time, fixed32 LE
// length, bytes.
std::string Entry(uint64_t time, const std::string& id) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((time >> (8 * i)) & 0xff));
  const uint32_t n = static_cast<uint32_t>(id.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + id;
}

TEST(DedupIndexTest, SecondSightingWithinHorizonIsADuplicate) {
  DedupIndex index(absl::Hours(1));
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), 0));
  EXPECT_TRUE(index.SeenOrAdd("a", HashMember("a"), 10 * kMinute));
  EXPECT_FALSE(index.SeenOrAdd("b", HashMember("b"), 0));
  EXPECT_FALSE(index.SeenOrAdd("", HashMember(""), 0));  // no id: never a duplicate
  EXPECT_FALSE(index.SeenOrAdd("", HashMember(""), 0));
  EXPECT_EQ(index.size(), 2u);
}

TEST(DedupIndexTest, DisabledWithZeroHorizon) {
  DedupIndex index(absl::ZeroDuration());
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), 0));
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), 0));
  StateDelta delta;
  index.TakeDelta(&delta);
  index.Expire(5 * kHour, &delta);
  EXPECT_TRUE(delta.empty());
}

TEST(DedupIndexTest, IdsAddedBetweenCheckpointsAreOneRow) {
  DedupIndex index(absl::Hours(1));
  index.SeenOrAdd("m-1", HashMember("m-1"), 2000);
  index.SeenOrAdd("m-22", HashMember("m-22"), 1000);  // older than m-1: the row's newest is 2000
  index.SeenOrAdd("m-1", HashMember("m-1"), 3000);    // a duplicate adds nothing
  StateDelta delta;
  index.TakeDelta(&delta);
  const Rows rows = Collect(delta);
  ASSERT_EQ(rows.puts.size(), 1u);
  EXPECT_EQ(rows.puts.begin()->first, "x/00000000000000002000/00000000000000000000");
  EXPECT_EQ(rows.puts.begin()->second, Entry(2000, "m-1") + Entry(1000, "m-22"));

  // The next checkpoint's row gets the next sequence number.
  index.SeenOrAdd("m-3", HashMember("m-3"), 1500);
  StateDelta second;
  index.TakeDelta(&second);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(Collect(second).puts.begin()->first, "x/00000000000000001500/00000000000000000001");
}

TEST(DedupIndexTest, ExpiryForgetsIdsAndDeletesRowsWhoseNewestIdExpired) {
  DedupIndex index(absl::Hours(1));
  index.SeenOrAdd("early", HashMember("early"), 0);
  index.SeenOrAdd("later", HashMember("later"), 30 * kMinute);
  StateDelta delta;
  index.TakeDelta(&delta);  // one row, newest 30 min

  // now = 1 h + 1 ms: ids older than 1 ms expire, so "early" (0) does and
  // "later" (30 min) does not; the row still holds "later".
  StateDelta expiry;
  index.Expire(kHour + 1, &expiry);
  Rows rows = Collect(expiry);
  EXPECT_TRUE(rows.deletes.empty());
  ASSERT_EQ(rows.puts.size(), 1u);
  EXPECT_EQ(rows.puts["x/floor"], "1");
  EXPECT_FALSE(index.SeenOrAdd("early", HashMember("early"), kHour));  // a new occurrence
  EXPECT_TRUE(index.SeenOrAdd("later", HashMember("later"), kHour));

  // now = 1 h 30 min + 1 ms: "later" expires, and with it its row.
  StateDelta more;
  index.Expire(90 * kMinute + 1, &more);
  rows = Collect(more);
  EXPECT_TRUE(rows.deletes.count("x/00000000000001800000/00000000000000000000") == 1);
  EXPECT_EQ(rows.puts["x/floor"], "1800001");
  // "early"'s new occurrence (1 h) went into a row of its own, written by
  // this Expire before any deletion: newest 1 h, sequence 1.
  EXPECT_EQ(rows.puts.count("x/00000000000003600000/00000000000000000001"), 1u);
  EXPECT_FALSE(index.SeenOrAdd("later", HashMember("later"), 2 * kHour));
}

TEST(DedupIndexTest, ExpiredIdsAreSweptOnceTheFloorMovesAnEighthOfTheHorizon) {
  DedupIndex index(absl::Hours(8));  // an eighth: 1 h
  index.SeenOrAdd("a", HashMember("a"), 0);
  index.SeenOrAdd("b", HashMember("b"), kHour);
  index.SeenOrAdd("c", HashMember("c"), 2 * kHour);
  StateDelta delta;
  index.Expire(8 * kHour, &delta);  // floor 0: nothing older
  EXPECT_EQ(index.size(), 3u);
  index.Expire(8 * kHour + 30 * kMinute, &delta);  // floor 30 min: "a" expired, not swept
  EXPECT_EQ(index.size(), 3u);
  index.Expire(9 * kHour, &delta);  // floor 1 h, moved by 1 h: swept, "a" goes
  EXPECT_EQ(index.size(), 2u);
  index.Expire(10 * kHour + 1, &delta);  // floor 2 h + 1 ms: "b" and "c" go
  EXPECT_EQ(index.size(), 0u);
  // Expired and swept ids are new again.
  EXPECT_FALSE(index.SeenOrAdd("c", HashMember("c"), 10 * kHour));
  EXPECT_TRUE(index.SeenOrAdd("c", HashMember("c"), 10 * kHour));
}

TEST(DedupIndexTest, RestoreKeepsIdsAndTheExpiryFloor) {
  DedupIndex before(absl::Hours(1));
  before.SeenOrAdd("old", HashMember("old"), 0);
  before.SeenOrAdd("new", HashMember("new"), 50 * kMinute);
  StateDelta delta;
  before.Expire(kHour + 10 * kMinute, &delta);  // floor 10 min: "old" expired
  std::map<std::string, std::string> store;
  for (const auto& [key, value] : delta.entries()) {
    if (value) store[key] = *value;
  }
  ASSERT_EQ(store.size(), 2u);  // the row (still holding "new") and the floor

  DedupIndex after(absl::Hours(1));
  for (const auto& [key, value] : store) ASSERT_OK(after.Restore(key, value)) << key;
  EXPECT_TRUE(after.SeenOrAdd("new", HashMember("new"), 55 * kMinute));
  // "old" is in the restored row but below the floor: expired, as it was.
  EXPECT_FALSE(after.SeenOrAdd("old", HashMember("old"), 20 * kMinute));
}

TEST(DedupIndexTest, MalformedRowsAreDataLoss) {
  DedupIndex index(absl::Hours(1));
  EXPECT_EQ(index.Restore("x/m-1", "5").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(index.Restore("x/floor", "soon").code(), absl::StatusCode::kDataLoss);
  const std::string key = "x/00000000000000002000/00000000000000000000";
  EXPECT_EQ(index.Restore(key, Entry(2000, "m-1").substr(0, 14)).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_OK(index.Restore(key, Entry(2000, "m-1")));
}

}  // namespace
}  // namespace nsmd
