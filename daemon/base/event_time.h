// EventTime: when an event happened, in milliseconds since the Unix epoch.
#ifndef NSMD_DAEMON_BASE_EVENT_TIME_H_
#define NSMD_DAEMON_BASE_EVENT_TIME_H_

#include <compare>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace nsmd {

// An event time (or a window bound, or a stream time: a time on the events'
// clock) in whole milliseconds since the Unix epoch, UTC. A strong type over
// int64_t: built only through FromMillis, it is not mixed up with a
// duration, an offset or a count. The default is the epoch. Trivially
// copyable, the size of an int64_t; hot loops unwrap it with millis().
class EventTime {
 public:
  // The Unix epoch (0 ms).
  constexpr EventTime() = default;

  // The time `ms` milliseconds after the Unix epoch (before it if negative).
  static constexpr EventTime FromMillis(int64_t ms) { return EventTime(ms); }

  // Milliseconds since the Unix epoch.
  constexpr int64_t millis() const { return millis_; }

  // The same instant as an absl::Time.
  absl::Time ToTime() const { return absl::FromUnixMillis(millis_); }

  // This time moved by `d`, truncated to whole milliseconds.
  EventTime operator+(absl::Duration d) const {
    return EventTime(millis_ + absl::ToInt64Milliseconds(d));
  }
  // This time moved back by `d`, truncated to whole milliseconds.
  EventTime operator-(absl::Duration d) const {
    return EventTime(millis_ - absl::ToInt64Milliseconds(d));
  }
  // The time from `other` to this one.
  absl::Duration operator-(EventTime other) const {
    return absl::Milliseconds(millis_ - other.millis_);
  }

  // Compares the instants.
  friend constexpr bool operator==(const EventTime&, const EventTime&) = default;
  friend constexpr auto operator<=>(const EventTime&, const EventTime&) = default;

  // Hashes as the millisecond count (absl::Hash, absl::flat_hash_map keys).
  template <typename H>
  friend H AbslHashValue(H h, EventTime t) {
    return H::combine(std::move(h), t.millis_);
  }

  // Writes the millisecond count, e.g. "1700000000000" (absl::StrCat and
  // absl::StrFormat "%v" with an Abseil that supports AbslStringify, from
  // 20230125).
  template <typename Sink>
  friend void AbslStringify(Sink& sink, EventTime t) {
    sink.Append(absl::AlphaNum(t.millis_).Piece());
  }

  // Formats the millisecond count for absl::StrFormat "%d" (width and the
  // '-' flag honoured).
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::d> AbslFormatConvert(
      EventTime t, const absl::FormatConversionSpec& spec, absl::FormatSink* sink) {
    sink->PutPaddedString(absl::AlphaNum(t.millis_).Piece(), spec.width(), -1,
                          spec.has_left_flag());
    return {true};
  }

 private:
  constexpr explicit EventTime(int64_t ms) : millis_(ms) {}

  int64_t millis_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_EVENT_TIME_H_
