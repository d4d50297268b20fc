#include "daemon/validate/period_table_builder.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

bool IsRatio(const MetricDefinition& m) { return m.measure.kind == MeasureKind::kRatio; }

// The value of a period without a window or sample: nothing happened (0),
// except for a ratio, which has no value then.
double Empty(const MetricDefinition& m) { return IsRatio(m) ? kMissing : 0.0; }

}  // namespace

PeriodTableBuilder::PeriodTableBuilder(const std::vector<MetricDefinition>& metrics,
                                       CalendarUnit cadence, Calendar calendar)
    : metrics_(metrics), cadence_(cadence), calendar_(calendar) {}

absl::StatusOr<CalendarUnit> PeriodTableBuilder::CadenceOf(const MetricDefinition& north_star) {
  static const std::pair<const char*, CalendarUnit> kNames[] = {
      {"hourly", CalendarUnit::kHour},   {"hour", CalendarUnit::kHour},
      {"daily", CalendarUnit::kDay},     {"day", CalendarUnit::kDay},
      {"weekly", CalendarUnit::kWeek},   {"week", CalendarUnit::kWeek},
      {"monthly", CalendarUnit::kMonth}, {"month", CalendarUnit::kMonth}};
  const std::string cadence = absl::AsciiStrToLower(north_star.metadata.cadence);
  for (const auto& [name, unit] : kNames) {
    if (cadence == name) return unit;
  }
  if (north_star.window.kind == WindowKind::kTumbling) return north_star.window.unit;
  if (north_star.window.kind == WindowKind::kCohort) return north_star.window.period;
  return absl::InvalidArgumentError(absl::StrCat(
      "the north star \"", north_star.name, "\" has cadence \"", north_star.metadata.cadence,
      "\" and a ", north_star.window.kind == WindowKind::kRolling ? "rolling" : "lifetime",
      " window: set its cadence to hourly, daily, weekly or monthly to say which periods to "
      "validate over"));
}

bool PeriodTableBuilder::Aligned(const MetricDefinition& m) const {
  return (m.window.kind == WindowKind::kTumbling && m.window.unit == cadence_) ||
         (m.window.kind == WindowKind::kCohort && m.window.period == cadence_);
}

EventTime PeriodTableBuilder::Reached(EventTime event_time, const MetricsSnapshot& snapshot) {
  if (first_start_ms_ == INT64_MIN) {
    first_start_ms_ = calendar_.WindowStart(cadence_, event_time.millis());
    next_end_ms_ = calendar_.NextWindowStart(cadence_, first_start_ms_);
    return EventTime(next_end_ms_);
  }
  for (const MetricDefinition& m : metrics_) {
    if (Aligned(m) || !m.group_by.empty()) continue;
    double value = Empty(m);
    for (const SeriesSample& s : snapshot.samples) {
      if (s.metric == m.name && s.window == "current" && s.labels.empty()) value = s.value;
    }
    at_end_[m.name].push_back(value);
  }
  next_end_ms_ = calendar_.NextWindowStart(cadence_, next_end_ms_);
  return EventTime(next_end_ms_);
}

PeriodTable PeriodTableBuilder::Finish(const std::vector<SeriesSample>& all_windows,
                                       EventTime stream_time) const {
  PeriodTable table;
  table.cadence = cadence_;
  const std::string unit(CalendarUnitName(cadence_));
  if (first_start_ms_ != INT64_MIN) {
    const int64_t last_start = calendar_.WindowStart(cadence_, stream_time.millis());
    for (int64_t t = first_start_ms_; t < last_start; t = calendar_.NextWindowStart(cadence_, t)) {
      table.period_starts_ms.push_back(t);
      table.end_ms = calendar_.NextWindowStart(cadence_, t);
    }
  }
  const size_t n = table.period_starts_ms.size();
  for (const MetricDefinition& m : metrics_) {
    const MetricRole role = m.metadata.role;
    if (role == MetricRole::kGuardrail) continue;
    if (!m.group_by.empty()) {
      table.skipped.emplace_back(m.name, "has group_by: its series add up to no single value");
      continue;
    }
    MetricSeries series;
    series.name = m.name;
    series.metadata = m.metadata;
    series.values.assign(n, Empty(m));
    if (Aligned(m)) {
      const bool cohort = m.window.kind == WindowKind::kCohort;
      series.reading =
          cohort ? absl::StrCat("its cohort of the ", unit) : absl::StrCat("its ", unit, " window");
      absl::flat_hash_map<int64_t, double> by_start;
      for (const SeriesSample& s : all_windows) {
        if (s.metric == m.name && s.labels.empty()) by_start[s.window_start_ms] = s.value;
      }
      for (size_t k = 0; k < n; ++k) {
        const int64_t start = table.period_starts_ms[k];
        const int64_t end = calendar_.NextWindowStart(cadence_, start);
        if (cohort && end + absl::ToInt64Milliseconds(m.window.length) > stream_time.millis()) {
          series.values[k] = kMissing;  // members still inside their windows
          continue;
        }
        auto it = by_start.find(start);
        if (it != by_start.end()) series.values[k] = it->second;
      }
    } else {
      series.reading = absl::StrCat("its value at the ", unit, "'s end");
      auto it = at_end_.find(m.name);
      for (size_t k = 0; it != at_end_.end() && k < n && k < it->second.size(); ++k) {
        series.values[k] = it->second[k];
      }
    }
    table.metrics.push_back(std::move(series));
  }
  return table;
}

}  // namespace nsmd
