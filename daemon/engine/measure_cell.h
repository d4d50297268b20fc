// MeasureCell: the running value of one metric in one window for one group.
#ifndef NSMD_DAEMON_ENGINE_MEASURE_CELL_H_
#define NSMD_DAEMON_ENGINE_MEASURE_CELL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "daemon/engine/contribution.h"
#include "daemon/engine/member_set.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/state_key.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// Where a cell's rows live: the metric's key builder plus the cell's window
// and group components.
struct CellAddress {
  const StateKey* key;
  std::string window;  // decimal window start (ms)
  std::string group;
};

// Exact state of one (window, group) of an events, sum, distinct or entities
// measure. Changes are tracked, not written per event: WriteChanges() turns
// what changed since its last call into StateDelta rows (write-back at
// checkpoints), so the hot path allocates only for new entities (and table
// growth). Thread-compatible.
//
// Distinct members (of the cell, or of each entity for entities counted by
// distinct members: then one table per cell holds every entity's members,
// keyed by EntityMemberKey) are held as their 128-bit XXH3 hash, 16 bytes in
// a flat table (a cell's members: a MemberSet), never as strings: two
// different members collide with a chance of about n^2 / 2^129 for n members
// (10^-20 for n = 10^9), i.e. never in practice; a collision would undercount
// by one. The rows keep only hashes too. The members added since the last
// checkpoint are persisted as ONE blob row per cell and checkpoint (see
// state_key.h for the layout):
//   "dh"  <window> <group> <seq> -> n x 16-byte little-endian hash (low 64
//                                   bits first, then high 64 bits)
//   "emh" <window> <group> <seq> -> repeated {fixed32 little-endian entity
//                                   length, entity bytes, 16-byte hash}
// <seq> is the cell's blob counter (decimal), restored as max + 1. Expiring
// a cell deletes its rows by prefix (StateDelta::DeletePrefix), one per row
// kind of the cell, without knowing any member.
class MeasureCell {
 public:
  // Adds `c`. Returns true if the cell had no unwritten changes before (the
  // caller then remembers to write it back).
  bool Add(const MeasureSpec& measure, const Contribution& c);

  // Starts loading the slots Add() will probe: a distinct measure's member
  // (by its hash), an entities measure's `entity` and, with a distinct
  // aggregate, that entity's member if given (other measures: none).
  // Results do not depend on it.
  void Prefetch(const MeasureSpec& measure, absl::string_view entity,
                std::optional<absl::uint128> member_hash) const;

  // Records the rows changed since the last call in *delta; afterwards the
  // cell has no unwritten changes.
  void WriteChanges(const MeasureSpec& measure, const CellAddress& at, StateDelta* delta);

  // The measure's value: count, sum, distinct members or satisfied entities.
  double Value(const MeasureSpec& measure) const;

  // Re-applies one persisted row of kind `kind` ("c", "dh", "e", "emh")
  // whose components after window and group are `rest`. DataLoss if
  // malformed (other kinds, including version 1's "d" and "em", too).
  [[nodiscard]] absl::Status Restore(const MeasureSpec& measure, absl::string_view kind,
                                     const std::vector<std::string>& rest, absl::string_view value);

  // Inserts the members of the "dh" rows Restore() has read (collected
  // until now, so the table is sized once for all of them and filled with
  // prefetching, on two threads for a large cell: MemberSet::InsertAll).
  // Value() and Add() need it done.
  void FinishRestore();

  // Records the deletion of every row of this cell (the window expired): one
  // prefix deletion per row kind ("c": a key deletion; "dh": one prefix;
  // entities: the "e" prefix, plus the "emh" prefix for distinct members).
  void DeleteRows(const MeasureSpec& measure, const CellAddress& at, StateDelta* delta) const;

 private:
  struct EntityState {
    double value = 0;
    bool dirty = false;    // "e" row not yet written
    bool has_row = false;  // distinct aggregate: an "e" row exists (entity seen without member)
  };
  double scalar_ = 0;
  MemberSet members_;
  absl::flat_hash_map<std::string, EntityState> entities_;
  // Distinct aggregate: every entity's members, by EntityMemberKey.
  absl::flat_hash_set<absl::uint128> entity_members_;
  int64_t satisfied_ = 0;
  uint64_t next_blob_seq_ = 0;  // <seq> of the next "dh"/"emh" row
  // Read by Restore (a chunk per "dh" row), not inserted yet.
  std::vector<std::vector<absl::uint128>> restored_members_;
  // Unwritten changes.
  bool dirty_ = false;
  std::string new_members_;                  // pending "dh" blob
  std::vector<std::string> dirty_entities_;  // "e" rows
  std::string new_entity_members_;           // pending "emh" blob
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_MEASURE_CELL_H_
