// MetricsSnapshot: the engine's current numbers, handed to the exporters.
#ifndef NSMD_DAEMON_ENGINE_METRIC_SNAPSHOT_H_
#define NSMD_DAEMON_ENGINE_METRIC_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemon/base/event_time.h"

namespace nsmd {

using Labels = std::vector<std::pair<std::string, std::string>>;

// One value of one window of one series.
struct SeriesSample {
  std::string metric;
  Labels labels;       // group-by labels (empty without group-by)
  std::string window;  // "current" or "previous" (snapshots); "" in history
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;  // exclusive; for cohorts, end of the anchor period
  double value = 0;
};

// Everything an exporter shows, copied out of the engine so scrapes never
// touch live state.
struct MetricsSnapshot {
  std::vector<SeriesSample> samples;
  EventTime stream_time;  // newest event time over all sources; the epoch if none
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_METRIC_SNAPSHOT_H_
