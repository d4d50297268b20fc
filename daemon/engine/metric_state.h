// MetricState: the windows of one metric and how events move them.
#ifndef NSMD_DAEMON_ENGINE_METRIC_STATE_H_
#define NSMD_DAEMON_ENGINE_METRIC_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event.h"
#include "daemon/engine/calendar.h"
#include "daemon/engine/contribution.h"
#include "daemon/engine/group_index.h"
#include "daemon/engine/measure_cell.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"
#include "daemon/engine/name_match.h"
#include "daemon/engine/rolling_members.h"
#include "daemon/engine/state_key.h"
#include "daemon/engine/window_start_cache.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// All state of one (non-ratio) metric:
//  - tumbling, lifetime and cohort metrics keep MeasureCells per window start
//    (cohorts: per anchor period) and group;
//  - rolling metrics keep per-second buckets (events, sum) or each member's
//    last-seen second (distinct: RollingMembers), and count those inside
//    (T - length, T];
//  - cohort metrics also keep each entity's anchor time and the
//    contributions of entities whose anchor has not arrived yet. An anchor
//    event of an entity whose window [anchor, anchor + length) ended at
//    least the allowed lateness before it opens a new window; an anchor is
//    dropped (row included) once that holds for the expiry horizon, since no
//    event it could take can be applied any more. Both depend on event
//    times only, never on when checkpoints ran, so any split of the events
//    into tasks or checkpoints gives the same windows. Held anchors are
//    those of the last length + 2 x allowed lateness (plus at most an
//    eighth of the length not swept yet), not every entity ever seen.
// Thread-compatible; owned by the Engine.
class MetricState {
 public:
  // `allowed_lateness_ms`: the engine's; a cohort anchor stays that long
  // after its window ends (see SetAnchor).
  MetricState(const MetricDefinition* definition, const Calendar* calendar,
              int64_t allowed_lateness_ms);

  // Applies a non-late event, whose name the metric's filters accept as
  // `names` says (the rest of each filter is evaluated here). Changes of
  // windows, rolling buckets and pending cohort contributions are written
  // back by TakeDelta (a contribution whose anchor arrives before it writes
  // no row at all); cohort anchors are recorded in *delta at once.
  void Apply(const Event& event, NameMatch names, StateDelta* delta);

  // Starts loading the table slots Apply(event) will probe, where they are
  // cheap to know: for a distinct or entities measure, the event's member or
  // entity in its cell (a cohort's: the cell used last, as the cohort is
  // only known from the anchor) or rolling series, if that exists already,
  // and a cohort's anchor of the event's entity. Results do not depend on
  // it. `names` as for Apply.
  void Prefetch(const Event& event, NameMatch names);

  // Records every row changed since the last call in *delta.
  void TakeDelta(StateDelta* delta);

  // Restores one row whose components (after the metric prefix) are `parts`.
  [[nodiscard]] absl::Status Restore(const std::vector<std::string>& parts,
                                     absl::string_view value);

  // Completes the restore of every cell (MeasureCell::FinishRestore).
  void FinishRestore();

  // Drops windows that are no longer shown and can no longer change: stream
  // time `now`, and no source can apply events older than `horizon`.
  void Expire(EventTime now, EventTime horizon, StateDelta* delta);

  // Appends the current (and, where defined, previous) window's samples at
  // stream time `now`.
  void Snapshot(EventTime now, std::vector<SeriesSample>* out) const;

  // Appends every window held (history), window label left empty.
  void AllWindows(EventTime now, std::vector<SeriesSample>* out) const;

  const StateKey& key() const { return key_; }
  const MetricDefinition& definition() const { return *def_; }

 private:
  using Cells = absl::flat_hash_map<std::string, MeasureCell>;
  struct RollingGroup {
    absl::btree_map<int64_t, double> buckets;  // second -> scalar (events, sum)
    RollingMembers members;                    // distinct
    // Unwritten changes.
    bool dirty = false;
    std::vector<int64_t> dirty_seconds;
  };
  struct Pending {
    Contribution contribution;
    uint64_t seq = 0;
    bool persisted = false;  // its "p" row was written (by TakeDelta or before a restart)
  };
  // The row key of pending contribution `p` of `entity`.
  std::string PendingKey(const std::string& entity, const Pending& p) const;

  void AddToCell(int64_t window, const Contribution& c);
  // The existing cell Prefetch(event) probes (its group key in
  // prefetch_group_), or null.
  const MeasureCell* PrefetchedCell(const Event& event);
  void AddRolling(const Contribution& c);
  void ApplyCohort(const Event& event, NameMatch names, StateDelta* delta);
  // Records `entity`'s anchor event at `time`: the start of its window.
  void SetAnchor(const std::string& entity, EventTime time, StateDelta* delta);
  // Drops the anchors whose window ended at or before `horizon_ms`, with
  // their rows, once the horizon has moved by an eighth of the cohort length
  // since the last sweep (a sequential pass, no lookup per anchor).
  void ExpireAnchors(int64_t horizon_ms, StateDelta* delta);
  int64_t WindowEnd(int64_t start, int64_t now_ms) const;
  // Start of the newest cohort period whose member windows have all closed.
  int64_t PreviousCohortPeriod(int64_t now_ms) const;
  // True if `time` falls in the cohort window anchored at `start_ms`.
  bool InCohort(int64_t start_ms, EventTime time) const {
    return time.millis() >= start_ms && time.millis() < start_ms + cohort_length_ms_;
  }
  void AppendCells(int64_t window, const std::string& label, int64_t now_ms, bool zero_if_empty,
                   std::vector<SeriesSample>* out) const;
  double RollingValue(const RollingGroup& g, int64_t now_ms) const;

  const MetricDefinition* def_;
  const Calendar* calendar_;
  StateKey key_;
  GroupIndex groups_;
  int64_t cohort_length_ms_ = 0;
  int64_t lateness_ms_ = 0;
  int64_t rolling_length_s_ = 0;
  // Tumbling windows: of the window unit; cohorts: of the cohort period.
  WindowStartCache window_start_;

  absl::btree_map<int64_t, Cells> windows_;
  // The cell AddToCell used last (null when unknown): windows_ holds it
  // until the next insertion into or erasure from windows_.
  MeasureCell* last_cell_ = nullptr;
  int64_t last_cell_window_ = 0;
  std::string last_cell_group_;
  // Cells and rolling groups with unwritten changes: (window, group), group.
  std::vector<std::pair<int64_t, std::string>> dirty_cells_;
  std::vector<std::string> dirty_rolling_;
  absl::flat_hash_map<std::string, RollingGroup> rolling_;
  absl::flat_hash_map<std::string, int64_t> anchors_;
  // The horizon of the last Expire() and of the last anchor sweep: anchors
  // whose window ended before anchor_floor_ are expired even if still held.
  int64_t anchor_floor_ = 0;
  std::optional<int64_t> anchor_sweep_floor_;
  absl::flat_hash_map<std::string, std::vector<Pending>> pending_;
  // Entities given pending contributions since the last TakeDelta (their
  // rows are unwritten); an entity may repeat, or be resolved since.
  std::vector<std::string> unwritten_pending_;
  uint64_t next_pending_seq_ = 0;
  Contribution scratch_;
  std::string entity_scratch_;    // the cohort entity of the event being applied
  std::string prefetch_scratch_;  // the entity of the event being prefetched
  std::string prefetch_group_;    // its group key (GroupIndex::KeyOf)
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_METRIC_STATE_H_
