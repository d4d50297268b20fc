// DedupIndex: the event ids applied within the dedup horizon.
#ifndef NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
#define NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_

#include <cstdint>
#include <string>
#include <utility>

#include <deque>
#include <limits>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// Remembers the id (Segment messageId, Amplitude insert_id) and event time of
// every applied event for `horizon` of event time, so a redelivered or
// re-sent event is recognized and skipped. Ids persist as rows
// "x/<id>" -> event time (ms), in the same checkpoint as the metric state.
// A horizon of zero disables deduplication. Thread-compatible.
//
// The hot path (SeenOrAdd) does one hash lookup and, for a new id, one copy
// of it: ids are written to the StateDelta only at TakeDelta (write-back at
// checkpoints), and expire in arrival order from a queue of views into the
// (node-stable) map.
class DedupIndex {
 public:
  explicit DedupIndex(absl::Duration horizon)
      : horizon_ms_(absl::ToInt64Milliseconds(horizon)) {}

  bool enabled() const { return horizon_ms_ > 0; }

  // Returns true if `id` was applied within the horizon; otherwise records
  // it (with its event time) and returns false. Empty ids are never
  // duplicates.
  bool SeenOrAdd(absl::string_view id, int64_t time_ms);

  // Writes the ids recorded since the last call into *delta.
  void TakeDelta(StateDelta* delta);

  // Forgets ids whose event time is older than `now_ms` minus the horizon
  // (recording their deletion in *delta).
  void Expire(int64_t now_ms, StateDelta* delta);

  // Restores one "x/" row.
  absl::Status Restore(absl::string_view key, absl::string_view value);

  size_t size() const { return times_.size(); }

  static constexpr absl::string_view kKeyPrefix = "x/";

 private:
  int64_t horizon_ms_;
  // Ids older than this are expired even if Expire has not removed them yet.
  int64_t expired_before_ = std::numeric_limits<int64_t>::min();
  absl::node_hash_map<std::string, int64_t> times_;
  // (time, id) in arrival order; views into times_' keys.
  std::deque<std::pair<int64_t, absl::string_view>> queue_;
  bool queue_unsorted_ = false;  // after Restore (rows come in key order)
  std::vector<absl::string_view> new_ids_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
