// StateDelta: the state mutations one checkpoint persists.
#ifndef NSMD_DAEMON_STATE_STATE_DELTA_H_
#define NSMD_DAEMON_STATE_STATE_DELTA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
// are dropped from the delta); a Put under p made after it survives.
// StateStore::Commit therefore applies prefix deletions first, then entries.
// (The engine deletes a prefix when a window expires; nothing is put under
// it afterwards since that window can no longer change.)
//
// Recording is cheap: Put, Delete and DeletePrefix append to a log, and the
// sorted, last-write-wins view (entries(), prefix_deletions()) is built from
// it when first read, on whichever thread reads it: the checkpoint writer's,
// not the pipeline's. Not thread-safe (one thread at a time, also for the
// const readers, which build that view).
class StateDelta {
 public:
  using Entries = absl::btree_map<std::string, std::optional<std::string>>;

  // Records that `key` now holds `value`.
  void Put(absl::string_view key, absl::string_view value) {
    log_.push_back(Op{Op::kPut, std::string(key), std::string(value)});
  }
  // The same, taking ownership of `value` (no copy of a large blob).
  void PutOwned(absl::string_view key, std::string&& value) {
    log_.push_back(Op{Op::kPut, std::string(key), std::move(value)});
  }
  // Records that `key` no longer exists.
  void Delete(absl::string_view key) { log_.push_back(Op{Op::kDelete, std::string(key), {}}); }
  // Records that no key starting with `prefix` exists any more (see the
  // ordering above): entries already recorded under it are dropped.
  void DeletePrefix(absl::string_view prefix) {
    log_.push_back(Op{Op::kDeletePrefix, std::string(prefix), {}});
  }
  // Moves everything of *other (the newer changes) into this delta and
  // leaves *other empty: other's prefix deletions drop this delta's entries
  // under them, then other's entries win over this one's for the same key.
  void Absorb(StateDelta* other) {
    if (empty()) {
      std::swap(log_, other->log_);
      entries_.swap(other->entries_);
      prefixes_.swap(other->prefixes_);
      other->Clear();
      return;
    }
    // Other's built view comes before its log (it was built from older
    // operations): its prefixes first, as Commit applies them.
    log_.reserve(log_.size() + other->prefixes_.size() + other->entries_.size() +
                 other->log_.size());
    for (const std::string& prefix : other->prefixes_) {
      log_.push_back(Op{Op::kDeletePrefix, prefix, {}});
    }
    for (auto& [key, value] : other->entries_) {
      log_.push_back(value ? Op{Op::kPut, key, std::move(*value)} : Op{Op::kDelete, key, {}});
    }
    for (Op& op : other->log_) log_.push_back(std::move(op));
    other->Clear();
  }
  // Moves everything of *other into this delta as Absorb() does, with
  // `prefix` prepended to each of its keys and deleted prefixes: how a task's
  // engine changes land under the task's rows ("t/<topic>/<partition>/").
  void AbsorbUnder(absl::string_view prefix, StateDelta* other) {
    auto under = [prefix](std::string& key) { key.insert(0, prefix.data(), prefix.size()); };
    log_.reserve(log_.size() + other->prefixes_.size() + other->entries_.size() +
                 other->log_.size());
    for (std::string prefixed : other->prefixes_) {
      under(prefixed);
      log_.push_back(Op{Op::kDeletePrefix, std::move(prefixed), {}});
    }
    for (auto& [key, value] : other->entries_) {
      std::string prefixed = key;
      under(prefixed);
      log_.push_back(value ? Op{Op::kPut, std::move(prefixed), std::move(*value)}
                           : Op{Op::kDelete, std::move(prefixed), {}});
    }
    for (Op& op : other->log_) {
      under(op.key);
      log_.push_back(std::move(op));
    }
    other->Clear();
  }

  bool empty() const { return log_.empty() && entries_.empty() && prefixes_.empty(); }
  // Entries plus prefix deletions.
  size_t size() const {
    Build();
    return entries_.size() + prefixes_.size();
  }
  void Clear() {
    log_.clear();
    entries_.clear();
    prefixes_.clear();
  }
  // Entries in key order; nullopt means delete. None lies under a prefix
  // deletion recorded before it.
  const Entries& entries() const {
    Build();
    return entries_;
  }
  // Prefix deletions in key order; applied before entries().
  const absl::btree_set<std::string>& prefix_deletions() const {
    Build();
    return prefixes_;
  }

 private:
  struct Op {
    enum Kind : uint8_t { kPut, kDelete, kDeletePrefix };
    Kind kind;
    std::string key;  // the prefix, for kDeletePrefix
    std::string value;
  };

  // Replays the log onto the built view, in order, and empties it.
  void Build() const {
    for (Op& op : log_) {
      switch (op.kind) {
        case Op::kPut:
          entries_.insert_or_assign(std::move(op.key),
                                    std::optional<std::string>(std::move(op.value)));
          break;
        case Op::kDelete: entries_.insert_or_assign(std::move(op.key), std::nullopt); break;
        case Op::kDeletePrefix: {
          auto it = entries_.lower_bound(op.key);
          while (it != entries_.end() && absl::StartsWith(it->first, op.key)) {
            it = entries_.erase(it);
          }
          prefixes_.insert(std::move(op.key));
          break;
        }
      }
    }
    log_.clear();
  }

  // Recorded since the view was last built (oldest first).
  mutable std::vector<Op> log_;
  // The view: what the log before it amounts to.
  mutable Entries entries_;
  mutable absl::btree_set<std::string> prefixes_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_STATE_DELTA_H_
