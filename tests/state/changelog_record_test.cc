// The changelog record format: rows, tombstones, chunks, markers, and the
// replay that turns records back into complete checkpoints' rows.
#include "daemon/state/changelog_record.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

// The rows of `delta` as "key=value" / "key deleted", in key order.
std::vector<std::string> Rows(const StateDelta& delta) {
  std::vector<std::string> out;
  for (const auto& [key, value] : delta.entries()) {
    if (!value) {
      out.push_back(absl::StrCat(key, " deleted"));
    } else if (value->size() > 40) {
      out.push_back(absl::StrCat(key, "=<", value->size(), " bytes>"));
    } else {
      out.push_back(absl::StrCat(key, "=", *value));
    }
  }
  return out;
}

TEST(ChangelogRecordTest, ShortRowIsOneRecordWithItsRelativeKey) {
  std::vector<ChangelogRecord> out;
  AppendRowRecords("m/wau/f1/c", "42", "ck1", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (ChangelogRecord{"m/wau/f1/c", std::string("42"), "ck1", 0}));
}

TEST(ChangelogRecordTest, LongRowIsCutIntoChunksOfTheChunkSize) {
  // 2.5 chunks: 3 records of 512 KiB, 512 KiB and 256 KiB.
  const std::string value(kChangelogChunkBytes * 5 / 2, 'v');
  std::vector<ChangelogRecord> out;
  AppendRowRecords("x/ids", value, "ck1", &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].key, std::string("\0c\0\0\0\0x/ids", 11));
  EXPECT_EQ(out[2].key, std::string("\0c\0\0\0\2x/ids", 11));
  EXPECT_EQ(out[0].value->size(), kChangelogChunkBytes);
  EXPECT_EQ(out[1].value->size(), kChangelogChunkBytes);
  EXPECT_EQ(out[2].value->size(), kChangelogChunkBytes / 2);
  for (const ChangelogRecord& r : out) EXPECT_EQ(r.chunks, 3u);
  // One byte over the size is two chunks; exactly the size is one record.
  out.clear();
  AppendRowRecords("k", std::string(kChangelogChunkBytes, 'a'), "ck1", &out);
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  AppendRowRecords("k", std::string(kChangelogChunkBytes + 1, 'a'), "ck1", &out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(ChangelogRecordTest, TombstoneOfAChunkedRowCoversEveryChunkKey) {
  std::vector<ChangelogRecord> out;
  AppendTombstones("x/ids", kChangelogChunkBytes * 2, "ck1", &out);
  ASSERT_EQ(out.size(), 3u);  // chunk 0, chunk 1, the row's own
  EXPECT_EQ(out[0].key, std::string("\0c\0\0\0\0x/ids", 11));
  EXPECT_EQ(out[1].key, std::string("\0c\0\0\0\1x/ids", 11));
  EXPECT_EQ(out[2].key, "x/ids");
  for (const ChangelogRecord& r : out) EXPECT_FALSE(r.value.has_value());
  out.clear();
  AppendTombstones("m/a", 10, "ck1", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (ChangelogRecord{"m/a", std::nullopt, "ck1", 0}));
}

TEST(ChangelogReplayTest, AppliesACheckpointAtItsMarkerUnderThePrefix) {
  ChangelogReplay replay("t/events/3/");
  std::vector<ChangelogRecord> records;
  AppendTombstones("m/old", 3, "ck1", &records);
  AppendRowRecords("m/a", "1", "ck1", &records);
  AppendRowRecords("m/big", std::string(kChangelogChunkBytes * 2 + 7, 'b'), "ck1", &records);
  int64_t offset = 100;
  for (const ChangelogRecord& r : records) {
    ASSERT_OK(replay.Add(r, offset++));
    EXPECT_EQ(replay.checkpoints(), 0u);  // nothing before the marker
  }
  ASSERT_OK(replay.Add(MarkerRecord(KafkaOffset(5000), "ck1"), offset));  // at 105
  EXPECT_EQ(replay.checkpoints(), 1u);
  EXPECT_EQ(replay.rows(), 3u);
  EXPECT_EQ(replay.input_next_offset(), KafkaOffset(5000));
  EXPECT_EQ(replay.changelog_end(), 106);
  StateDelta rows;
  replay.TakeRows(&rows);
  EXPECT_EQ(Rows(rows),
            (std::vector<std::string>{"t/events/3/m/a=1", "t/events/3/m/big=<1048583 bytes>",
                                      "t/events/3/m/old deleted"}));
  EXPECT_EQ(*rows.entries().at("t/events/3/m/big"), std::string(kChangelogChunkBytes * 2 + 7, 'b'));
}

TEST(ChangelogReplayTest, RecordsAfterTheLastMarkerAreNeverApplied) {
  ChangelogReplay replay("t/e/0/");
  ASSERT_OK(replay.Add(ChangelogRecord{"m/a", std::string("1"), "ck1", 0}, 0));
  ASSERT_OK(replay.Add(MarkerRecord(KafkaOffset(10), "ck1"), 1));
  ASSERT_OK(replay.Add(ChangelogRecord{"m/a", std::string("2"), "ck2", 0}, 2));
  ASSERT_OK(replay.Add(ChangelogRecord{"m/b", std::string("3"), "ck2", 0}, 3));
  StateDelta rows;
  replay.TakeRows(&rows);
  EXPECT_EQ(Rows(rows), (std::vector<std::string>{"t/e/0/m/a=1"}));
  EXPECT_EQ(replay.input_next_offset(), KafkaOffset(10));
  EXPECT_EQ(replay.changelog_end(), 2);
}

TEST(ChangelogReplayTest, AnUnfinishedAttemptFollowedByAnotherCheckpointIsDropped) {
  // ck2 crashed before its marker; ck3 (a restart) wrote one. ck2's m/b must
  // not survive: ck3 may not rewrite it.
  ChangelogReplay replay("t/e/0/");
  ASSERT_OK(replay.Add(ChangelogRecord{"m/a", std::string("2"), "ck2", 0}, 0));
  ASSERT_OK(replay.Add(ChangelogRecord{"m/b", std::string("9"), "ck2", 0}, 1));
  ASSERT_OK(replay.Add(ChangelogRecord{"m/a", std::string("4"), "ck3", 0}, 2));
  ASSERT_OK(replay.Add(MarkerRecord(KafkaOffset(30), "ck3"), 3));
  StateDelta rows;
  replay.TakeRows(&rows);
  EXPECT_EQ(Rows(rows), (std::vector<std::string>{"t/e/0/m/a=4"}));
  EXPECT_EQ(replay.checkpoints(), 1u);
}

TEST(ChangelogReplayTest, ACheckpointAppliedTwiceGivesTheSameRows) {
  std::vector<ChangelogRecord> ck;
  AppendRowRecords("m/a", "7", "ck1", &ck);
  AppendTombstones("m/gone", 1, "ck1", &ck);
  AppendRowRecords("m/big", std::string(kChangelogChunkBytes + 9, 'z'), "ck1", &ck);
  ck.push_back(MarkerRecord(KafkaOffset(44), "ck1"));
  ChangelogReplay once("p/");
  ChangelogReplay twice("p/");
  int64_t offset = 0;
  for (const ChangelogRecord& r : ck) ASSERT_OK(once.Add(r, offset++));
  offset = 0;
  for (int round = 0; round < 2; ++round) {
    for (const ChangelogRecord& r : ck) ASSERT_OK(twice.Add(r, offset++));
  }
  StateDelta a, b;
  once.TakeRows(&a);
  twice.TakeRows(&b);
  EXPECT_EQ(a.entries(), b.entries());
  EXPECT_EQ(Rows(a),
            (std::vector<std::string>{"p/m/a=7", "p/m/big=<524297 bytes>", "p/m/gone deleted"}));
  EXPECT_EQ(twice.input_next_offset(), KafkaOffset(44));
}

TEST(ChangelogReplayTest, LeftoverChunksOfAnOlderLongerVersionRebuildNothing) {
  // What compaction can leave: chunks 2 and 3 of a 4-chunk version, then a
  // 2-chunk version of the same row.
  std::vector<ChangelogRecord> old_version;
  AppendRowRecords("m/r", std::string(kChangelogChunkBytes * 4, 'o'), "ck1", &old_version);
  std::vector<ChangelogRecord> log = {old_version[2], old_version[3]};
  log.push_back(MarkerRecord(KafkaOffset(1), "ck1"));
  std::vector<ChangelogRecord> fresh;
  AppendRowRecords("m/r", std::string(kChangelogChunkBytes * 2, 'n'), "ck2", &fresh);
  log.insert(log.end(), fresh.begin(), fresh.end());
  log.push_back(MarkerRecord(KafkaOffset(2), "ck2"));
  ChangelogReplay replay("");
  int64_t offset = 0;
  StateDelta rows;
  for (size_t i = 0; i < 3; ++i) ASSERT_OK(replay.Add(log[i], offset++));
  replay.TakeRows(&rows);
  EXPECT_TRUE(rows.entries().empty());
  for (size_t i = 3; i < log.size(); ++i) ASSERT_OK(replay.Add(log[i], offset++));
  replay.TakeRows(&rows);
  ASSERT_EQ(rows.entries().size(), 1u);
  EXPECT_EQ(*rows.entries().at("m/r"), std::string(kChangelogChunkBytes * 2, 'n'));
}

TEST(ChangelogReplayTest, MalformedRecordsAreDataLoss) {
  ChangelogReplay replay("");
  EXPECT_EQ(replay.Add(ChangelogRecord{std::string("\0q", 2), std::string("1"), "c", 0}, 7).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(replay.Add(ChangelogRecord{std::string("\0m", 2), std::string("x"), "c", 0}, 8).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace nsmd
