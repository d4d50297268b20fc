// MeasureCell: the running value of one metric in one window for one group.
#ifndef NSMD_DAEMON_ENGINE_MEASURE_CELL_H_
#define NSMD_DAEMON_ENGINE_MEASURE_CELL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "daemon/engine/contribution.h"
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
// checkpoints), so the hot path allocates only for new members and
// entities. Thread-compatible.
class MeasureCell {
 public:
  // Adds `c`. Returns true if the cell had no unwritten changes before (the
  // caller then remembers to write it back).
  bool Add(const MeasureSpec& measure, const Contribution& c);

  // Records the rows changed since the last call in *delta; afterwards the
  // cell has no unwritten changes.
  void WriteChanges(const MeasureSpec& measure, const CellAddress& at, StateDelta* delta);

  // The measure's value: count, sum, distinct members or satisfied entities.
  double Value(const MeasureSpec& measure) const;

  // Re-applies one persisted row of kind `kind` ("c", "d", "e", "em") whose
  // components after window and group are `rest`. DataLoss if malformed.
  absl::Status Restore(const MeasureSpec& measure, absl::string_view kind,
                       const std::vector<std::string>& rest, absl::string_view value);

  // Records the deletion of every row of this cell (the window expired).
  void DeleteRows(const MeasureSpec& measure, const CellAddress& at, StateDelta* delta) const;

 private:
  struct EntityState {
    double value = 0;
    bool dirty = false;  // "e" row not yet written
    bool has_row = false;  // distinct aggregate: an "e" row exists (entity seen without member)
    absl::flat_hash_set<std::string> members;
  };
  double scalar_ = 0;
  absl::flat_hash_set<std::string> members_;
  absl::flat_hash_map<std::string, EntityState> entities_;
  int64_t satisfied_ = 0;
  // Unwritten changes.
  bool dirty_ = false;
  std::vector<std::string> new_members_;     // "d" rows
  std::vector<std::string> dirty_entities_;  // "e" rows
  std::vector<std::pair<std::string, std::string>> new_entity_members_;  // "em" rows
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_MEASURE_CELL_H_
