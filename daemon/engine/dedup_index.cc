#include "daemon/engine/dedup_index.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/state_key.h"

namespace nsmd {

bool DedupIndex::SeenOrAdd(absl::string_view id, int64_t time_ms, StateDelta* delta) {
  if (!enabled() || id.empty()) return false;
  auto [it, inserted] = times_.try_emplace(id, time_ms);
  if (!inserted) return true;
  by_time_.emplace(time_ms, it->first);
  delta->Put(absl::StrCat(kKeyPrefix, id), absl::StrCat(time_ms));
  return false;
}

void DedupIndex::Expire(int64_t now_ms, StateDelta* delta) {
  if (!enabled()) return;
  const int64_t oldest = now_ms - horizon_ms_;
  while (!by_time_.empty() && by_time_.begin()->first < oldest) {
    const std::string& id = by_time_.begin()->second;
    delta->Delete(absl::StrCat(kKeyPrefix, id));
    times_.erase(id);
    by_time_.erase(by_time_.begin());
  }
}

absl::Status DedupIndex::Restore(absl::string_view key, absl::string_view value) {
  int64_t t = 0;
  if (!absl::StartsWith(key, kKeyPrefix) || !ParseInt64(value, &t)) {
    return absl::DataLossError(absl::StrCat("malformed dedup row \"", key, "\""));
  }
  key.remove_prefix(kKeyPrefix.size());
  auto [it, inserted] = times_.try_emplace(key, t);
  if (inserted) by_time_.emplace(t, it->first);
  return absl::OkStatus();
}

}  // namespace nsmd
