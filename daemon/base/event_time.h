// EventTime: a point in event time, as events' own timestamps tell it.
#ifndef NSMD_DAEMON_BASE_EVENT_TIME_H_
#define NSMD_DAEMON_BASE_EVENT_TIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "daemon/base/strong_int.h"

namespace nsmd {

// Milliseconds since the Unix epoch (UTC) on the clock of the events' own
// timestamps, not of when they were read: an event's time, a stream time, a
// cohort anchor. Not to be mixed up with an offset, a count or a duration
// (those stay absl::Duration, or int64 milliseconds inside window
// arithmetic). Where there is no time yet (a stream time before any event)
// it is the epoch, EventTime(), as it always was.
class EventTime : public StrongInt<EventTime, int64_t> {
 public:
  using StrongInt::StrongInt;

  // `t`, rounded down to a whole millisecond (absl::ToUnixMillis: an
  // infinite time saturates at the int64 limits).
  static EventTime FromTime(absl::Time t) { return EventTime(absl::ToUnixMillis(t)); }

  // Milliseconds since the epoch; the same as value().
  constexpr int64_t millis() const { return value(); }

  // The same instant as an absl::Time, exactly.
  absl::Time ToTime() const { return absl::FromUnixMillis(value()); }
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_EVENT_TIME_H_
