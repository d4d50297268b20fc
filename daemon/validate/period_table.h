// PeriodTable: the per-period series `nsmd validate` scores.
#ifndef NSMD_DAEMON_VALIDATE_PERIOD_TABLE_H_
#define NSMD_DAEMON_VALIDATE_PERIOD_TABLE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemon/engine/metric_definition.h"
#include "daemon/validate/series_stats.h"

namespace nsmd {

// One metric's value per cadence period, and how it was read.
struct MetricSeries {
  std::string name;
  MetricMetadata metadata;
  // How a period's value was read: "its week window", "its cohort of the
  // week", or "its value at the week's end" (see PeriodTableBuilder).
  std::string reading;
  PeriodSeries values;  // one per period of PeriodTable::period_starts_ms
};

// The complete cadence periods of a history, oldest first, and the series
// of the north star, its inputs (role input or focus), the candidates and
// the validation metric over them.
struct PeriodTable {
  CalendarUnit cadence = CalendarUnit::kWeek;
  std::vector<int64_t> period_starts_ms;  // epoch ms
  int64_t end_ms = 0;                     // end of the last period
  std::vector<MetricSeries> metrics;      // in config order
  // Metrics left out, with why (e.g. a group_by: no single series).
  std::vector<std::pair<std::string, std::string>> skipped;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_VALIDATE_PERIOD_TABLE_H_
