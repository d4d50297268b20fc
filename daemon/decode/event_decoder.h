// EventDecoder: JSON bytes -> Event, with a specific reason on rejection.
#ifndef NSMD_DAEMON_DECODE_EVENT_DECODER_H_
#define NSMD_DAEMON_DECODE_EVENT_DECODER_H_

#include <cstddef>
#include <memory>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "daemon/decode/event.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/decode/reject_reason.h"

namespace nsmd {

// Decodes one JSON message at a time with simdjson, extracting the format's
// name/time/id and every path in the catalog. Reuses its parser and Event, so
// steady-state decoding allocates nothing. Not thread-safe: use one decoder
// per thread. The catalog must outlive the decoder and not change after it is
// constructed.
class EventDecoder {
 public:
  // max_message_bytes: larger messages are rejected as kOversized unparsed.
  EventDecoder(EventFormat format, const FieldCatalog* catalog,
               size_t max_message_bytes = 1 << 20);
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `json`. On success returns OK and sets *event (valid until the
  // next call). On failure returns InvalidArgument with a message naming the
  // problem (e.g. "timestamp \"2024-13-01\" is not ISO-8601 or epoch
  // milliseconds") and sets *reason; never throws, whatever the bytes.
  absl::Status Decode(absl::string_view json, const Event** event, RejectReason* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses an ISO-8601 / RFC 3339 timestamp ("2024-03-31T01:30:00Z",
// "2024-03-31T03:30:00.250+02:00", fractional seconds of any length, 'T' or
// ' ' separator) into epoch milliseconds (fractions truncated toward negative
// infinity). Returns InvalidArgument if `text` is not such a timestamp.
absl::Status ParseIsoTimestampMs(absl::string_view text, int64_t* ms);

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_DECODER_H_
