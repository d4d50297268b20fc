// StateDelta: the state mutations one checkpoint persists.
#ifndef NSMD_DAEMON_STATE_STATE_DELTA_H_
#define NSMD_DAEMON_STATE_STATE_DELTA_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"

namespace nsmd {

// Key -> new value (or deletion), last write wins. The engine records every
// change here between checkpoints; the checkpoint writes the lot in one
// RocksDB WriteBatch together with the source offsets. Not thread-safe.
class StateDelta {
 public:
  // Records that `key` now holds `value`.
  void Put(absl::string_view key, absl::string_view value) {
    entries_.insert_or_assign(key, std::optional<std::string>(std::string(value)));
  }
  // Records that `key` no longer exists.
  void Delete(absl::string_view key) {
    entries_.insert_or_assign(key, std::nullopt);
  }
  // Moves every entry of *other into this delta (other's win over this
  // one's for the same key) and leaves *other empty.
  void Absorb(StateDelta* other) {
    if (entries_.empty()) {
      entries_.swap(other->entries_);
      return;
    }
    for (auto& [key, value] : other->entries_) entries_.insert_or_assign(key, std::move(value));
    other->entries_.clear();
  }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  void Clear() { entries_.clear(); }
  // Entries in no particular order; nullopt means delete.
  const absl::flat_hash_map<std::string, std::optional<std::string>>& entries() const {
    return entries_;
  }

 private:
  absl::flat_hash_map<std::string, std::optional<std::string>> entries_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_STATE_DELTA_H_
