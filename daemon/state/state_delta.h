// StateDelta: the state mutations one checkpoint persists.
#ifndef NSMD_DAEMON_STATE_STATE_DELTA_H_
#define NSMD_DAEMON_STATE_STATE_DELTA_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace nsmd {

// Key -> new value (or deletion), last write wins, plus prefix deletions.
// The engine records every change here between checkpoints; the checkpoint
// writes the lot in one RocksDB WriteBatch together with the source offsets.
//
// Ordering of prefix deletions: DeletePrefix(p) removes every row under p
// that exists in the store or was put earlier in this delta (such entries
// are dropped from the delta at once); a Put under p made after it survives.
// StateStore::Commit therefore applies prefix deletions first, then entries.
// (The engine deletes a prefix when a window expires; nothing is put under
// it afterwards since that window can no longer change.) Not thread-safe.
class StateDelta {
 public:
  using Entries = absl::btree_map<std::string, std::optional<std::string>>;

  // Records that `key` now holds `value`.
  void Put(absl::string_view key, absl::string_view value) {
    entries_.insert_or_assign(std::string(key), std::optional<std::string>(std::string(value)));
  }
  // The same, taking ownership of `value` (no copy of a large blob).
  void PutOwned(absl::string_view key, std::string&& value) {
    entries_.insert_or_assign(std::string(key), std::optional<std::string>(std::move(value)));
  }
  // Records that `key` no longer exists.
  void Delete(absl::string_view key) { entries_.insert_or_assign(std::string(key), std::nullopt); }
  // Records that no key starting with `prefix` exists any more (see the
  // ordering above): entries already recorded under it are dropped.
  void DeletePrefix(absl::string_view prefix) {
    EraseEntriesUnder(prefix);
    prefixes_.insert(std::string(prefix));
  }
  // Moves everything of *other (the newer changes) into this delta and
  // leaves *other empty: other's prefix deletions drop this delta's entries
  // under them, then other's entries win over this one's for the same key.
  void Absorb(StateDelta* other) {
    if (empty()) {
      entries_.swap(other->entries_);
      prefixes_.swap(other->prefixes_);
      return;
    }
    for (const std::string& prefix : other->prefixes_) {
      EraseEntriesUnder(prefix);
      prefixes_.insert(prefix);
    }
    for (auto& [key, value] : other->entries_) entries_.insert_or_assign(key, std::move(value));
    other->Clear();
  }
  bool empty() const { return entries_.empty() && prefixes_.empty(); }
  // Entries plus prefix deletions.
  size_t size() const { return entries_.size() + prefixes_.size(); }
  void Clear() {
    entries_.clear();
    prefixes_.clear();
  }
  // Entries in key order; nullopt means delete. None lies under a prefix
  // deletion recorded before it.
  const Entries& entries() const { return entries_; }
  // Prefix deletions in key order; applied before entries().
  const absl::btree_set<std::string>& prefix_deletions() const { return prefixes_; }

 private:
  void EraseEntriesUnder(absl::string_view prefix) {
    auto it = entries_.lower_bound(std::string(prefix));
    while (it != entries_.end() && absl::StartsWith(it->first, prefix)) it = entries_.erase(it);
  }

  Entries entries_;
  absl::btree_set<std::string> prefixes_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_STATE_DELTA_H_
