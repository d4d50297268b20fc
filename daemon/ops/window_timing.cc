#include "daemon/ops/window_timing.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);

absl::Duration UnitLength(CalendarUnit unit) {
  switch (unit) {
    case CalendarUnit::kHour: return absl::Hours(1);
    case CalendarUnit::kDay: return kDay;
    case CalendarUnit::kWeek: return 7 * kDay;
    case CalendarUnit::kMonth: return 30 * kDay;
  }
  return kDay;
}

}  // namespace

absl::Duration CadencePeriod(const std::string& cadence) {
  if (cadence == "hourly") return absl::Hours(1);
  if (cadence == "weekly") return 7 * kDay;
  if (cadence == "monthly") return 30 * kDay;
  if (cadence == "quarterly") return 91 * kDay;
  return kDay;
}

absl::Duration WindowLength(const MetricDefinition& metric) {
  switch (metric.window.kind) {
    case WindowKind::kTumbling: return UnitLength(metric.window.unit);
    case WindowKind::kRolling: return metric.window.length;
    case WindowKind::kCohort: return UnitLength(metric.window.period);
    case WindowKind::kLifetime: return CadencePeriod(metric.metadata.cadence);
  }
  return kDay;
}

absl::Duration AlertFor(const MetricDefinition& metric, const AlertSpec& alert) {
  if (alert.for_duration) return *alert.for_duration;
  const std::string& c = metric.metadata.cadence;
  absl::Duration d = absl::Hours(1);
  if (c == "hourly") d = absl::Minutes(15);
  if (c == "weekly") d = absl::Hours(6);
  if (c == "monthly") d = kDay;
  if (c == "quarterly") d = 3 * kDay;
  return std::max(d, absl::Minutes(15));
}

std::string PromDuration(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s <= 0) return "0s";
  for (const auto& [unit, seconds] :
       {std::pair<const char*, int64_t>{"w", 7 * 86400}, {"d", 86400}, {"h", 3600}, {"m", 60}}) {
    if (s % seconds == 0) return absl::StrCat(s / seconds, unit);
  }
  return absl::StrCat(s, "s");
}

}  // namespace nsmd
