#include "daemon/engine/dedup_index.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/state_key.h"

namespace nsmd {

bool DedupIndex::SeenOrAdd(absl::string_view id, int64_t time_ms) {
  if (!enabled() || id.empty()) return false;
  auto [it, inserted] = times_.try_emplace(id, time_ms);
  if (!inserted) {
    if (it->second >= expired_before_) return true;
    it->second = time_ms;  // an expired id seen again: a new occurrence
  }
  queue_.emplace_back(time_ms, it->first);
  new_ids_.push_back(it->first);
  return false;
}

void DedupIndex::TakeDelta(StateDelta* delta) {
  std::string value;
  for (absl::string_view id : new_ids_) {
    auto it = times_.find(id);
    if (it == times_.end()) continue;
    delta->Put(absl::StrCat(kKeyPrefix, id), absl::StrCat(it->second));
  }
  new_ids_.clear();
}

void DedupIndex::Expire(int64_t now_ms, StateDelta* delta) {
  if (!enabled()) return;
  // New ids' rows first, so a deletion below is the last word on them.
  TakeDelta(delta);
  if (queue_unsorted_) {
    std::stable_sort(queue_.begin(), queue_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    queue_unsorted_ = false;
  }
  const int64_t oldest = now_ms - horizon_ms_;
  expired_before_ = std::max(expired_before_, oldest);
  // Arrival order is nearly time order; an entry newer than `oldest` stops
  // the sweep, and older ones behind it wait for a later sweep (SeenOrAdd
  // treats them as expired meanwhile).
  while (!queue_.empty() && queue_.front().first < oldest) {
    const auto [time, id] = queue_.front();
    queue_.pop_front();
    auto it = times_.find(id);
    // Only if this queue entry is the id's current occurrence.
    if (it == times_.end() || it->second != time) continue;
    delta->Delete(absl::StrCat(kKeyPrefix, id));
    times_.erase(it);
  }
}

absl::Status DedupIndex::Restore(absl::string_view key, absl::string_view value) {
  int64_t t = 0;
  if (!absl::StartsWith(key, kKeyPrefix) || !ParseInt64(value, &t)) {
    return absl::DataLossError(absl::StrCat("malformed dedup row \"", key, "\""));
  }
  key.remove_prefix(kKeyPrefix.size());
  auto [it, inserted] = times_.try_emplace(key, t);
  if (inserted) {
    queue_.emplace_back(t, it->first);
    queue_unsorted_ = true;
  }
  return absl::OkStatus();
}

}  // namespace nsmd
