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
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), EventTime(0)));
  EXPECT_TRUE(index.SeenOrAdd("a", HashMember("a"), EventTime(10 * kMinute)));
  EXPECT_FALSE(index.SeenOrAdd("b", HashMember("b"), EventTime(0)));
  EXPECT_FALSE(index.SeenOrAdd("", HashMember(""), EventTime(0)));  // no id: never a duplicate
  EXPECT_FALSE(index.SeenOrAdd("", HashMember(""), EventTime(0)));
  EXPECT_EQ(index.size(), 2u);
}

TEST(DedupIndexTest, DisabledWithZeroHorizon) {
  DedupIndex index(absl::ZeroDuration());
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), EventTime(0)));
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), EventTime(0)));
  StateDelta delta;
  index.TakeDelta(&delta);
  index.Expire(EventTime(5 * kHour), &delta);
  EXPECT_TRUE(delta.empty());
}

TEST(DedupIndexTest, IdsAddedBetweenCheckpointsAreOneRow) {
  DedupIndex index(absl::Hours(1));
  index.SeenOrAdd("m-1", HashMember("m-1"), EventTime(2000));
  index.SeenOrAdd("m-22", HashMember("m-22"),
                  EventTime(1000));  // older than m-1: the row's newest is 2000
  index.SeenOrAdd("m-1", HashMember("m-1"), EventTime(3000));  // a duplicate adds nothing
  StateDelta delta;
  index.TakeDelta(&delta);
  const Rows rows = Collect(delta);
  ASSERT_EQ(rows.puts.size(), 1u);
  EXPECT_EQ(rows.puts.begin()->first, "x/00000000000000002000/00000000000000000000");
  EXPECT_EQ(rows.puts.begin()->second, Entry(2000, "m-1") + Entry(1000, "m-22"));

  // The next checkpoint's row gets the next sequence number.
  index.SeenOrAdd("m-3", HashMember("m-3"), EventTime(1500));
  StateDelta second;
  index.TakeDelta(&second);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(Collect(second).puts.begin()->first, "x/00000000000000001500/00000000000000000001");
}

TEST(DedupIndexTest, ExpiryForgetsIdsAndDeletesRowsWhoseNewestIdExpired) {
  DedupIndex index(absl::Hours(1));
  index.SeenOrAdd("early", HashMember("early"), EventTime(0));
  index.SeenOrAdd("later", HashMember("later"), EventTime(30 * kMinute));
  StateDelta delta;
  index.TakeDelta(&delta);  // one row, newest 30 min

  // now = 1 h + 1 ms: ids older than 1 ms expire, so "early" (0) does and
  // "later" (30 min) does not; the row still holds "later".
  StateDelta expiry;
  index.Expire(EventTime(kHour + 1), &expiry);
  Rows rows = Collect(expiry);
  EXPECT_TRUE(rows.deletes.empty());
  ASSERT_EQ(rows.puts.size(), 1u);
  EXPECT_EQ(rows.puts["x/floor"], "1");
  EXPECT_FALSE(
      index.SeenOrAdd("early", HashMember("early"), EventTime(kHour)));  // a new occurrence
  EXPECT_TRUE(index.SeenOrAdd("later", HashMember("later"), EventTime(kHour)));

  // now = 1 h 30 min + 1 ms: "later" expires, and with it its row.
  StateDelta more;
  index.Expire(EventTime(90 * kMinute + 1), &more);
  rows = Collect(more);
  EXPECT_TRUE(rows.deletes.count("x/00000000000001800000/00000000000000000000") == 1);
  EXPECT_EQ(rows.puts["x/floor"], "1800001");
  // "early"'s new occurrence (1 h) went into a row of its own, written by
  // this Expire before any deletion: newest 1 h, sequence 1.
  EXPECT_EQ(rows.puts.count("x/00000000000003600000/00000000000000000001"), 1u);
  EXPECT_FALSE(index.SeenOrAdd("later", HashMember("later"), EventTime(2 * kHour)));
}

class DedupIndexBucketTest : public ::testing::TestWithParam<size_t> {};

TEST_P(DedupIndexBucketTest, BucketsOfExpiredIdsAreDroppedAndTheRestStillFound) {
  // Buckets of 1,024 ids; or growing 1,024, 2,048, 4,096, then 8,192 each,
  // dropped buckets' memory reused only by a bucket of their size.
  const size_t per_bucket = GetParam();
  DedupIndex index(absl::Hours(1), per_bucket);
  // One id a second for 10 h, the floor moved every minute: 3,600 ids (+ a
  // minute's) within the horizon. Held: the buckets whose newest id is
  // within the horizon, so at most the horizon's ids, the minute, and the
  // one bucket straddling the floor; a structure that kept expired ids
  // would hold all 36,000.
  StateDelta delta;
  for (int64_t s = 0; s < 36000; ++s) {
    const std::string id = "id-" + std::to_string(s);
    ASSERT_FALSE(index.SeenOrAdd(id, HashMember(id), EventTime(s * 1000))) << id;
    if (s % 60 == 59) index.Expire(EventTime(s * 1000), &delta);
    ASSERT_LE(index.size(), 3600u + 60 + per_bucket) << s;
  }
  // Every id within the horizon, across every bucket held, is a duplicate
  // (floor 32,399 s); every expired one is new again.
  for (int64_t s = 35999; s >= 32399; --s) {
    const std::string id = "id-" + std::to_string(s);
    ASSERT_TRUE(index.SeenOrAdd(id, HashMember(id), EventTime(36000 * 1000))) << id;
  }
  for (int64_t s = 0; s < 32399; ++s) {
    const std::string id = "id-" + std::to_string(s);
    ASSERT_FALSE(index.SeenOrAdd(id, HashMember(id), EventTime(36000 * 1000))) << id;
  }
  // ... and now a duplicate, in the open bucket or a new one.
  for (int64_t s = 0; s < 32399; s += 97) {
    const std::string id = "id-" + std::to_string(s);
    ASSERT_TRUE(index.SeenOrAdd(id, HashMember(id), EventTime(36001 * 1000))) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(BucketSizes, DedupIndexBucketTest, ::testing::Values(1024, 8192));

TEST(DedupIndexTest, BucketsGrowingFromSmallFindEveryId) {
  // 100,000 ids: buckets of 1,024, 2,048, ... 65,536 ids; each id is new
  // once, then a duplicate whichever bucket holds it.
  DedupIndex index(absl::Hours(1));
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "g-" + std::to_string(i);
    ASSERT_FALSE(index.SeenOrAdd(id, HashMember(id), EventTime(i))) << id;
  }
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "g-" + std::to_string(i);
    ASSERT_TRUE(index.SeenOrAdd(id, HashMember(id), EventTime(100000))) << id;
  }
  EXPECT_EQ(index.size(), 100000u);
}

TEST(DedupIndexTest, AnExpiredOccurrenceInAnOlderBucketDoesNotHideANewerOne) {
  DedupIndex index(absl::Hours(1), /*ids_per_bucket=*/2);
  StateDelta delta;
  index.SeenOrAdd("a", HashMember("a"), EventTime(0));  // bucket 1: a@0, b@0
  index.SeenOrAdd("b", HashMember("b"), EventTime(0));
  index.SeenOrAdd("c", HashMember("c"), EventTime(2 * kHour));  // bucket 2
  index.Expire(EventTime(2 * kHour), &delta);                   // floor 1 h: bucket 1 dropped
  EXPECT_EQ(index.size(), 1u);
  EXPECT_FALSE(index.SeenOrAdd("a", HashMember("a"), EventTime(2 * kHour)));
  // Its new occurrence (2 h) is held: a duplicate now.
  EXPECT_TRUE(index.SeenOrAdd("a", HashMember("a"), EventTime(2 * kHour + 1)));

  DedupIndex late(absl::Hours(1), /*ids_per_bucket=*/2);
  late.SeenOrAdd("x", HashMember("x"), EventTime(3 * kHour));  // bucket 1 newest 3 h holds x
  late.SeenOrAdd("y", HashMember("y"), EventTime(0));          // ... and an old y
  late.Expire(EventTime(3 * kHour), &delta);                   // floor 2 h: y expired, bucket kept
  EXPECT_EQ(late.size(), 2u);
  EXPECT_FALSE(
      late.SeenOrAdd("y", HashMember("y"), EventTime(3 * kHour)));  // new occurrence, bucket 2
  EXPECT_TRUE(
      late.SeenOrAdd("y", HashMember("y"), EventTime(3 * kHour)));  // newest of the two decides
}

TEST(DedupIndexTest, FilterFalsePositivesBeforeAnyExpiryAreNotDuplicates) {
  // Before the first Expire the floor is the lowest time there is; an id the
  // filter wrongly reports as seen is still new. 200,000 distinct ids in a
  // filter of ~16 bits an id give a few hundred false positives.
  DedupIndex index(absl::Hours(1));
  for (int i = 0; i < 200000; ++i) {
    const std::string id = "m-" + std::to_string(i);
    ASSERT_FALSE(index.SeenOrAdd(id, HashMember(id), EventTime(i))) << id;
  }
  EXPECT_EQ(index.size(), 200000u);
}

TEST(DedupIndexTest, RowsAreClosedAtTheirSizeCap) {
  DedupIndex index(absl::Hours(1));
  // Ids of 100 bytes: entries of 112 bytes, so 585 fit in 64 KiB (65,520).
  const int per_row = static_cast<int>(DedupIndex::kMaxRowBytes / 112);
  ASSERT_EQ(per_row, 585);
  for (int i = 0; i < 2 * per_row + 1; ++i) {
    std::string id = std::to_string(i);
    id.resize(100, '.');
    index.SeenOrAdd(id, HashMember(id), EventTime(i));
  }
  StateDelta delta;
  index.TakeDelta(&delta);
  const Rows rows = Collect(delta);
  ASSERT_EQ(rows.puts.size(), 3u);
  // Newest times 584, 1169 and 1170; sequences 0, 1, 2.
  auto it = rows.puts.begin();
  EXPECT_EQ(it->first, "x/00000000000000000584/00000000000000000000");
  EXPECT_EQ(it->second.size(), 585u * 112);
  ++it;
  EXPECT_EQ(it->first, "x/00000000000000001169/00000000000000000001");
  EXPECT_EQ(it->second.size(), 585u * 112);
  ++it;
  EXPECT_EQ(it->first, "x/00000000000000001170/00000000000000000002");
  EXPECT_EQ(it->second.size(), 112u);
}

TEST(DedupIndexTest, RestoreKeepsIdsAndTheExpiryFloor) {
  DedupIndex before(absl::Hours(1));
  before.SeenOrAdd("old", HashMember("old"), EventTime(0));
  before.SeenOrAdd("new", HashMember("new"), EventTime(50 * kMinute));
  StateDelta delta;
  before.Expire(EventTime(kHour + 10 * kMinute), &delta);  // floor 10 min: "old" expired
  std::map<std::string, std::string> store;
  for (const auto& [key, value] : delta.entries()) {
    if (value) store[key] = *value;
  }
  ASSERT_EQ(store.size(), 2u);  // the row (still holding "new") and the floor

  DedupIndex after(absl::Hours(1));
  for (const auto& [key, value] : store) ASSERT_OK(after.Restore(key, value)) << key;
  EXPECT_TRUE(after.SeenOrAdd("new", HashMember("new"), EventTime(55 * kMinute)));
  // "old" is in the restored row but below the floor: expired, as it was.
  EXPECT_FALSE(after.SeenOrAdd("old", HashMember("old"), EventTime(20 * kMinute)));
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
