// WindowStartCache: the last calendar window looked up, for the hot path.
#ifndef NSMD_DAEMON_ENGINE_WINDOW_START_CACHE_H_
#define NSMD_DAEMON_ENGINE_WINDOW_START_CACHE_H_

#include <cstdint>

#include "daemon/engine/calendar.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// Remembers the window [start, end) of one calendar unit found last, so the
// events of one window (in a stream: nearly all of them in a row) skip the
// time-zone arithmetic of Calendar::WindowStart. The window that contains a
// time is the one whose start it maps to, and its end is the next window's
// start, so a hit returns exactly what Calendar::WindowStart would.
// Thread-compatible.
class WindowStartCache {
 public:
  explicit WindowStartCache(CalendarUnit unit) : unit_(unit) {}

  // Calendar::WindowStart(unit, time_ms), from the cache when it holds it.
  int64_t Get(const Calendar& calendar, int64_t time_ms) {
    if (time_ms >= start_ && time_ms < end_) return start_;
    start_ = calendar.WindowStart(unit_, time_ms);
    end_ = calendar.NextWindowStart(unit_, start_);
    return start_;
  }

 private:
  CalendarUnit unit_;
  int64_t start_ = 0;
  int64_t end_ = 0;  // empty until the first lookup
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_WINDOW_START_CACHE_H_
