// DedupIndex: the event ids applied within the dedup horizon.
#ifndef NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
#define NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
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
// between two checkpoints are written as ONE row, not a row each, so a
// checkpoint costs one RocksDB write however many events it covers:
//
//   "x/" <newest event time in the row, 20 digits> "/" <sequence, 20 digits>
//       -> repeated { fixed64 event time ms (little-endian), fixed32 id length,
//                     id bytes }
//   "x/floor" -> expiry floor (decimal ms): ids older than it are expired
//
// A row is deleted once the horizon has passed its newest event time (then
// every id in it has expired). Restoring reads every row; an id found in
// several rows (re-sent after it had expired) keeps its newest time, and the
// floor makes ids that had expired before a restart stay expired.
//
// In memory an id is its 128-bit XXH3 hash with its event time (24 bytes in a
// flat table, one probe per lookup; two different ids collide with a chance
// of about n^2 / 2^129, i.e. never in practice); the rows keep the ids
// themselves. The hot path (SeenOrAdd) gets the id's hash from the decoder
// (Event::IdHash) and does one table lookup and, for a new id, one append
// to the pending row. Expired ids are
// dropped from the table by a sequential sweep each time the expiry floor
// has moved by an eighth of the horizon (until then the floor alone makes
// them expired), so the table holds at most 9/8 of the horizon's ids and
// expiry costs no lookup per id.
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

  // Ids in the table: those within the horizon, plus expired ones not swept
  // yet (at most an eighth of the horizon's worth).
  size_t size() const { return times_.size(); }

  static constexpr absl::string_view kKeyPrefix = "x/";

 private:
  // Appends one id to the row being built.
  void AppendToRow(absl::string_view id, int64_t time_ms);

  int64_t horizon_ms_;
  // Ids older than this are expired even if Expire has not removed them yet.
  int64_t expired_before_ = std::numeric_limits<int64_t>::min();
  // A hashed id: 16 bytes of 8-byte alignment (an absl::uint128 would make
  // the table's slots 32 bytes instead of 24). The hash is already uniform,
  // so the table hashes its low half only.
  struct IdHash {
    uint64_t low = 0;
    uint64_t high = 0;
    bool operator==(const IdHash& o) const { return low == o.low && high == o.high; }
    template <typename H>
    friend H AbslHashValue(H h, const IdHash& id) {
      return H::combine(std::move(h), id.low);
    }
  };
  static IdHash Split(absl::uint128 hash) {
    return IdHash{absl::Uint128Low64(hash), absl::Uint128High64(hash)};
  }

  // Hashed id -> event time of its current occurrence.
  absl::flat_hash_map<IdHash, int64_t> times_;
  // The expiry floor at the last sweep of times_.
  int64_t swept_floor_ = std::numeric_limits<int64_t>::min();
  // The row being built: its encoded ids and newest time.
  std::string row_;
  int64_t row_newest_ = std::numeric_limits<int64_t>::min();
  uint64_t next_row_seq_ = 0;
  // Persisted rows by newest event time: (newest, key), oldest first.
  std::deque<std::pair<int64_t, std::string>> rows_;
  bool rows_unsorted_ = false;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
