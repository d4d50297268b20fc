// EventDecoder: JSON bytes -> Event, with a specific reason on rejection.
#ifndef NSMD_DAEMON_DECODE_EVENT_DECODER_H_
#define NSMD_DAEMON_DECODE_EVENT_DECODER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/decode/reject_reason.h"

namespace nsmd {

// Limits of an EventDecoder beyond its format and catalog.
struct EventDecoderOptions {
  // Larger messages are rejected as kOversized, unparsed.
  size_t max_message_bytes = 1 << 20;
  // An event stamped more than this after now() is rejected as
  // kFutureTimestamp (events.max_future_skew): one far-future event would
  // otherwise move its partition's stream time there and make every later
  // event late. InfiniteDuration() turns the check off.
  absl::Duration max_future_skew = absl::Hours(1);
  // The wall clock; null means absl::Now. It is read only for an event
  // stamped more than max_future_skew after the previous reading: wall time
  // moves forward, so that reading bounds the check for every earlier stamp
  // (a wall clock set back can make the check up to that step lenient).
  // Tests inject a fixed clock.
  std::function<absl::Time()> now;
  // Fields whose key values get their FieldValue::key_hash computed here,
  // once per event: those the engine counts as distinct members
  // (MemberFields in metric_definition.h). Ids out of the catalog's range
  // are ignored.
  std::vector<FieldId> hashed_fields;
};

// Decodes one JSON message at a time with simdjson On-Demand, extracting the
// format's name/time/id and every path in the catalog in one pass over the
// message. Reuses its buffers, parser and Event, so steady-state decoding
// allocates nothing (rejections build their message). Not thread-safe: use one decoder
// per thread. The catalog must outlive the decoder and not change after it is
// constructed.
class EventDecoder {
 public:
  // Uses `options` (see EventDecoderOptions).
  EventDecoder(EventFormat format, const FieldCatalog* catalog, EventDecoderOptions options);
  // The default options, except max_message_bytes: larger messages are
  // rejected as kOversized unparsed.
  EventDecoder(EventFormat format, const FieldCatalog* catalog, size_t max_message_bytes = 1 << 20);
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `json`. On success returns OK and sets *event (valid until the
  // next call). On failure returns InvalidArgument with a message naming the
  // problem (e.g. "timestamp \"2024-13-01T00:00:00Z\" is not ISO-8601 or
  // epoch milliseconds (month out of range)") and sets *reason; never
  // throws, whatever the bytes. The rules, checked in this order:
  //   - more than max_message_bytes: kOversized, not parsed;
  //   - not JSON (incl. invalid UTF-8, integers beyond 64 bits): kInvalidJson;
  //     JSON but not an object: kNotObject;
  //   - name: the first name path holding a non-empty string, except that a
  //     later path's value in format.names_requiring_first_path (Segment's
  //     "track") means the name is missing: kMissingName;
  //   - time: the first time path present and not null: an ISO-8601 string
  //     (ParseIsoTimestamp) or a number of epoch milliseconds (fractions
  //     truncated); none: kMissingTimestamp; anything else, or outside
  //     1970-01-01 .. 9999-12-31 UTC: kBadTimestamp; more than
  //     max_future_skew after now(): kFutureTimestamp;
  //   - id: the first id path present and not null: a string as is, an
  //     integer as its decimal text; a bool, float, object or array: kBadId;
  //     none: empty id;
  //   - user and group ids: the user (format.user_path, or when that is
  //     missing or null the first present non-null format.user_fallback_paths)
  //     and each present non-null format.group_paths value must be a string
  //     or an integer, else kBadId (the message names the path);
  //   - fields: fields[id] is the value at catalog path `id`; the user path,
  //     when missing or null, takes the user value found above;
  //   - hashes: the event id's (Event::id_hash, when not empty) and the
  //     key_hash of each of options.hashed_fields holding a key value.
  [[nodiscard]] absl::Status Decode(absl::string_view json, const Event** event,
                                    RejectReason* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses an ISO-8601 / RFC 3339 timestamp ("2024-03-31T01:30:00Z",
// "2024-03-31T03:30:00.250+02:00", "2024-03-31 03:30:00+0200") into epoch
// milliseconds. The separator is 'T', 't' or ' '; fractional seconds have 1 to
// 9 digits and are truncated toward negative infinity; the zone is required
// ('Z', 'z', +hh:mm, -hh:mm, +hhmm, -hhmm); second 60 (a leap second) counts
// as second 0 of the next minute. Any year 0000-9999 parses: callers check the
// range they accept. Returns InvalidArgument naming the problem ("month out of
// range", "no such day in that month") if `text` is not such a timestamp.
// Allocates nothing on success.
//
// Example:
//   EventTime t;
//   ParseIsoTimestamp("2024-03-31T03:30:00+02:00", &t);  // t == EventTime(1711848600000)
[[nodiscard]] absl::Status ParseIsoTimestamp(absl::string_view text, EventTime* time);

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_DECODER_H_
