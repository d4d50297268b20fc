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
// In memory an id is its 128-bit XXH3 hash with its event time: 24-byte slots
// of an open-addressing table with linear probing, so a lookup reads one
// slot (one cache line, two for a slot that straddles lines) and usually no
// other; two different ids collide with a chance of about n^2 / 2^129, i.e.
// never in practice. The rows keep the ids themselves. The hot path
// (SeenOrAdd) gets the id's hash from the decoder (Event::IdHash). An
// expired id's slot is reused by the first new id whose probe passes it,
// and when the table reaches 5/8 full the expired ids are swept out in
// place (no tombstones, no new memory); only if the ids within the horizon
// still fill more than 3/8 of it does it double.
class DedupIndex {
 public:
  explicit DedupIndex(absl::Duration horizon) : horizon_ms_(absl::ToInt64Milliseconds(horizon)) {}

  bool enabled() const { return horizon_ms_ > 0; }

  // Returns true if `id` (whose HashKeyText is `id_hash`: Event::IdHash)
  // was applied within the horizon; otherwise records it (with its event
  // time) and returns false. Empty ids are never duplicates.
  bool SeenOrAdd(absl::string_view id, absl::uint128 id_hash, int64_t time_ms);

  // Starts loading the table slot SeenOrAdd(id, id_hash, ...) will probe,
  // so that the caller can overlap that cache miss with other work. No
  // effect on results.
  void Prefetch(absl::string_view id, absl::uint128 id_hash) const;

  // Writes the ids recorded since the last call into *delta (one row).
  void TakeDelta(StateDelta* delta);

  // Forgets ids whose event time is older than `now_ms` minus the horizon,
  // and records in *delta the deletion of rows that hold only such ids.
  void Expire(int64_t now_ms, StateDelta* delta);

  // Restores one "x/" row (as written through TakeDelta/Expire). Returns
  // DataLossError for a row that is not in the format above.
  [[nodiscard]] absl::Status Restore(absl::string_view key, absl::string_view value);

  // Ids in the table: those within the horizon, plus expired ones whose
  // slots have not been reused or swept yet.
  size_t size() const { return occupied_; }

  // Slots allocated (a power of two, or 0 before the first id).
  size_t capacity() const { return capacity_; }

  static constexpr absl::string_view kKeyPrefix = "x/";

  // A row is closed before an id would take it past this many bytes.
  static constexpr size_t kMaxRowBytes = 64 * 1024;

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
  // Frees a table mapped by NewSlots.
  struct Unmapper {
    size_t bytes = 0;
    void operator()(Slot* slots) const;
  };
  using SlotArray = std::unique_ptr<Slot[], Unmapper>;
  // `capacity` free slots in zeroed memory of their own (anonymous pages,
  // transparent huge pages asked for: the table is probed at random, and a
  // fault per 4 KiB page cost more than the rest of an insert on a VM).
  static SlotArray NewSlots(size_t capacity);

  // Appends one id to the row being built (closing it first if full).
  void AppendToRow(absl::string_view id, int64_t time_ms);
  // Records `hash` at `time_ms`: returns true if it was present and not
  // expired; otherwise stores it (over an expired occurrence, or in an
  // expired or free slot) and returns false. `keep_newer` (Restore) keeps
  // the newer of two times instead of reporting a duplicate.
  bool Insert(absl::uint128 hash, int64_t time_ms, bool keep_newer);
  // Makes room for one more id: sweeps expired ids out, then doubles the
  // table if the rest still fill more than 3/8 of it.
  void MakeRoom();
  // Frees the slots of expired ids and moves the others back along their
  // probe sequences (in place). Returns the ids left.
  size_t Sweep();
  // Stores `s` in the first free slot of its probe sequence.
  void Place(const Slot& s);

  int64_t horizon_ms_;
  // Ids older than this are expired even if no sweep has removed them.
  int64_t expired_before_ = std::numeric_limits<int64_t>::min();

  SlotArray slots_{nullptr, Unmapper{}};
  size_t capacity_ = 0;  // 0 or a power of two
  size_t occupied_ = 0;  // slots not free

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
