// Calendar: calendar-aligned window boundaries in one time zone.
#ifndef NSMD_DAEMON_ENGINE_CALENDAR_H_
#define NSMD_DAEMON_ENGINE_CALENDAR_H_

#include <cstdint>

#include "absl/time/time.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// Maps instants to the start of their hour/day/week/month in a zone, with the
// zone's DST rules (a Berlin day in March can be 23 hours long). Immutable and
// thread-safe.
class Calendar {
 public:
  Calendar(absl::TimeZone zone, absl::Weekday week_start) : zone_(zone), week_start_(week_start) {}

  // Start (epoch ms) of the `unit` window that contains `time_ms`.
  int64_t WindowStart(CalendarUnit unit, int64_t time_ms) const;

  // Start of the window after the one starting at `start_ms`.
  int64_t NextWindowStart(CalendarUnit unit, int64_t start_ms) const;

  // Start of the window before the one starting at `start_ms`.
  int64_t PreviousWindowStart(CalendarUnit unit, int64_t start_ms) const;

 private:
  absl::TimeZone zone_;
  absl::Weekday week_start_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_CALENDAR_H_
