// PeriodTableBuilder: reads per-period series out of a replaying engine.
#ifndef NSMD_DAEMON_VALIDATE_PERIOD_TABLE_BUILDER_H_
#define NSMD_DAEMON_VALIDATE_PERIOD_TABLE_BUILDER_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "daemon/base/event_time.h"
#include "daemon/engine/calendar.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"
#include "daemon/validate/period_table.h"

namespace nsmd {

// Maps each metric's windows onto the north star's cadence periods:
//  - a tumbling window of the cadence's unit, or a cohort grouped by it:
//    the value of that period's window (cohort: the cohort of entities
//    anchored in the period), after the whole history was applied; a
//    cohort period whose member windows had not all closed by the end of
//    the history is missing (still maturing);
//  - any other window (rolling, lifetime, tumbling or cohort of another
//    unit): its `current` value at the period's end, i.e. just before the
//    first event stamped at or after the end was applied (for a rolling
//    window: the window ending at the last event before the period end);
//  - a period without a window is 0, except for ratios: missing.
// Periods run from the one holding the first event to the last one that
// ended before the history's newest event (the period holding it is
// incomplete and left out). Metrics with group_by are skipped (their label
// series add up to no single value in general). Not thread-safe.
class PeriodTableBuilder {
 public:
  // `metrics` as the engine runs them; periods are `cadence` windows of
  // `calendar`.
  PeriodTableBuilder(const std::vector<MetricDefinition>& metrics, CalendarUnit cadence,
                     Calendar calendar);

  // The cadence named by a north star's `cadence` ("weekly", "week", ...),
  // else its tumbling window's unit or cohort period; InvalidArgument if
  // neither says.
  static absl::StatusOr<CalendarUnit> CadenceOf(const MetricDefinition& north_star);

  // Call with the time of the first event at or after the returned time
  // (the first time: EventTime(INT64_MIN)), with every earlier event applied
  // and `snapshot` the engine's values then. Returns the next period end.
  EventTime Reached(EventTime event_time, const MetricsSnapshot& snapshot);

  // The table, from the engine's retained windows (Engine::AllWindows with
  // retain_all_windows) and its final stream time.
  PeriodTable Finish(const std::vector<SeriesSample>& all_windows, EventTime stream_time) const;

 private:
  // True if `m`'s windows are the cadence's periods.
  bool Aligned(const MetricDefinition& m) const;

  std::vector<MetricDefinition> metrics_;
  CalendarUnit cadence_;
  Calendar calendar_;
  int64_t first_start_ms_ = INT64_MIN;  // INT64_MIN before the first event
  int64_t next_end_ms_ = INT64_MIN;
  // Values at each period end, by metric name, for unaligned metrics:
  // index k is the end of period k.
  absl::flat_hash_map<std::string, std::vector<double>> at_end_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_VALIDATE_PERIOD_TABLE_BUILDER_H_
