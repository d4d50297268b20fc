// DedupIndex: the event ids applied within the dedup horizon.
#ifndef NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
#define NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// Remembers the id (Segment messageId, Amplitude insert_id) and event time of
// every applied event for `horizon` of event time, so a redelivered or
// re-sent event is recognized and skipped. A horizon of zero disables
// deduplication. Thread-compatible.
//
// Persistence (in the same checkpoint as the metric state): the ids added
// between two checkpoints are written as rows of at most kMaxRowBytes (one
// row for up to ~3,000 ids), not a row each, so a checkpoint costs a few
// RocksDB writes however many events it covers:
//
//   "x/" <newest event time in the row, 20 digits> "/" <sequence, 20 digits>
//       -> repeated { fixed64 event time ms (little-endian), fixed32 id length,
//                     id bytes }
//   "x/floor" -> expiry floor (decimal ms): ids older than it are expired
//
// A row is deleted once the horizon has passed its newest event time (then
// every id in it has expired). Restoring reads every row; an id found in
// several rows (re-sent after it had expired) keeps its newest time, and the
// floor makes ids that had expired before a restart stay expired. Rows are
// capped so that the row being built stays in the cache and its memory is
// reused, instead of a string of tens of MiB growing (and faulting fresh
// pages in) between checkpoints.
//
// In memory an id is its 128-bit XXH3 hash with its event time (two
// different ids collide with a chance of about n^2 / 2^129, i.e. never in
// practice; the rows keep the ids themselves). The hot path (SeenOrAdd)
// gets the hash from the decoder (Event::IdHash). A day of ids is far
// larger than the caches, and a lookup at random in one table of them cost
// a cache and TLB miss per event, so they are kept in *buckets* in arrival
// order, each a small open-addressing table (linear probing, 24-byte slots)
// of at most ids_per_bucket ids (the first ones smaller), behind one
// blocked Bloom filter (a 64-byte block per id, 7 bits, ~16 bits an id: a
// few MiB that stay in the cache). A new id -- the common case -- costs one
// filter block and an insert into the newest bucket, both cache-resident;
// only ids the filter may have seen (duplicates, and false positives,
// ~0.1 %) are looked up in every bucket, the newest occurrence deciding. A
// bucket is dropped once its newest event time has expired; the filter is
// rebuilt from the buckets left when a quarter of its ids are gone, or when
// it is full.
class DedupIndex {
 public:
  // `ids_per_bucket` (a power of two) is for tests.
  explicit DedupIndex(absl::Duration horizon, size_t ids_per_bucket = size_t{1} << 16)
      : horizon_ms_(absl::ToInt64Milliseconds(horizon)), ids_per_bucket_(ids_per_bucket) {}

  bool enabled() const { return horizon_ms_ > 0; }

  // Returns true if `id` (whose HashKeyText is `id_hash`: Event::IdHash)
  // was applied within the horizon; otherwise records it (with its event
  // time) and returns false. Empty ids are never duplicates.
  bool SeenOrAdd(absl::string_view id, absl::uint128 id_hash, EventTime time);

  // Starts loading the filter block and newest bucket slot that
  // SeenOrAdd(id, id_hash, ...) will read, so that the caller can overlap
  // those misses with other work. No effect on results.
  void Prefetch(absl::string_view id, absl::uint128 id_hash) const;

  // Writes the ids recorded since the last call into *delta (one row).
  void TakeDelta(StateDelta* delta);

  // Forgets ids whose event time is older than `now` minus the horizon, and
  // records in *delta the deletion of rows that hold only such ids.
  void Expire(EventTime now, StateDelta* delta);

  // Restores one "x/" row (as written through TakeDelta/Expire). Returns
  // DataLossError for a row that is not in the format above.
  [[nodiscard]] absl::Status Restore(absl::string_view key, absl::string_view value);

  // Ids held: those within the horizon, plus expired ones in buckets that
  // also hold ids within it.
  size_t size() const;

  static constexpr absl::string_view kKeyPrefix = "x/";

  // A row is closed before an id would take it past this many bytes.
  static constexpr size_t kMaxRowBytes = 64 * 1024;
  // Ids of a first bucket (then each bucket twice the last one's, up to
  // ids_per_bucket).
  static constexpr size_t kFirstBucketIds = 1024;

 private:
  // A hashed id and the event time of its current occurrence, as a stamp:
  // the time shifted into unsigned order (Stamp), so that the zero stamp
  // (time INT64_MIN, never stored) marks a free slot and fresh zeroed pages
  // are an empty table without a pass to initialize them.
  struct Slot {
    uint64_t low;
    uint64_t high;
    uint64_t stamp;
  };
  static uint64_t Stamp(int64_t time_ms) {
    return static_cast<uint64_t>(time_ms) ^ (uint64_t{1} << 63);
  }
  // Frees memory mapped by Map.
  struct Unmapper {
    size_t bytes = 0;
    void operator()(void* p) const;
  };
  // `bytes` of zeroed memory of their own (anonymous pages, transparent
  // huge pages asked for from 2 MiB on).
  static std::unique_ptr<void, Unmapper> Map(size_t bytes);

  // Ids of one stretch of arrivals: a linear-probing table twice their
  // number, and the newest event time among them.
  struct Bucket {
    std::unique_ptr<void, Unmapper> memory{nullptr, Unmapper{}};
    Slot* slots = nullptr;
    size_t mask = 0;  // slots - 1
    size_t size = 0;
    uint64_t newest = 0;  // stamp
    // The slot holding (low, high), or the free slot ending its probe.
    Slot* Find(uint64_t low, uint64_t high) const;
  };

  // Appends one id to the row being built (closing it first if full).
  void AppendToRow(absl::string_view id, int64_t time_ms);
  // Records `hash` at `time_ms`: returns true if its newest occurrence is
  // not expired; otherwise records this occurrence and returns false. With
  // `keep_newer` (Restore) an occurrence is recorded unless one at least as
  // new is held (then it returns true).
  bool Insert(absl::uint128 hash, int64_t time_ms, bool keep_newer);
  // Adds (low, high) to the filter; returns whether it may have been there.
  bool FilterAdd(uint64_t low, uint64_t high);
  // The filter's 64-byte block for `high`.
  uint64_t* FilterBlock(uint64_t high) const { return filter_ + 8 * (high & (filter_blocks_ - 1)); }
  // Rebuilds the filter from the buckets, with room for twice their ids.
  void RebuildFilter();
  // The bucket new ids go to, started if full or missing.
  Bucket& OpenBucket();

  int64_t horizon_ms_;
  size_t ids_per_bucket_;
  // Ids older than this are expired even if their bucket is still held.
  int64_t expired_before_ = std::numeric_limits<int64_t>::min();

  std::vector<Bucket> buckets_;  // in arrival order: the back one is open
  std::unique_ptr<void, Unmapper> spare_{nullptr, Unmapper{}};  // a dropped bucket's
  std::unique_ptr<void, Unmapper> filter_memory_{nullptr, Unmapper{}};
  uint64_t* filter_ = nullptr;
  size_t filter_blocks_ = 0;   // a power of two
  size_t filter_ids_ = 0;      // ids added since the last rebuild
  size_t filter_dropped_ = 0;  // of those, ids whose bucket was dropped

  // The row being built: its encoded ids and newest time; and rows closed
  // at kMaxRowBytes since the last TakeDelta, (newest, bytes).
  std::string row_;
  int64_t row_newest_ = std::numeric_limits<int64_t>::min();
  std::vector<std::pair<int64_t, std::string>> closed_rows_;
  uint64_t next_row_seq_ = 0;
  // Persisted rows by newest event time: (newest, key), oldest first.
  std::deque<std::pair<int64_t, std::string>> rows_;
  bool rows_unsorted_ = false;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
