// DedupIndex: the event ids applied within the dedup horizon.
#ifndef NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
#define NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
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
class DedupIndex {
 public:
  explicit DedupIndex(absl::Duration horizon)
      : horizon_ms_(absl::ToInt64Milliseconds(horizon)) {}

  bool enabled() const { return horizon_ms_ > 0; }

  // Returns true if `id` was already applied; otherwise records it (with
  // its event time) and returns false. Empty ids are never duplicates.
  bool SeenOrAdd(absl::string_view id, int64_t time_ms, StateDelta* delta);

  // Forgets ids whose event time is older than `now_ms` minus the horizon.
  void Expire(int64_t now_ms, StateDelta* delta);

  // Restores one "x/" row.
  absl::Status Restore(absl::string_view key, absl::string_view value);

  size_t size() const { return times_.size(); }

  static constexpr absl::string_view kKeyPrefix = "x/";

 private:
  int64_t horizon_ms_;
  absl::flat_hash_map<std::string, int64_t> times_;
  absl::btree_set<std::pair<int64_t, std::string>> by_time_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_DEDUP_INDEX_H_
