// RejectReason: why a message was not turned into an event.
#ifndef NSMD_DAEMON_DECODE_REJECT_REASON_H_
#define NSMD_DAEMON_DECODE_REJECT_REASON_H_

#include <array>

#include "absl/strings/string_view.h"

namespace nsmd {

// Each reason is a bounded label value of nsmd_events_rejected_total{reason}.
enum class RejectReason {
  kOversized,         // larger than the configured message size limit
  kInvalidJson,       // not parseable as JSON
  kNotObject,         // JSON, but not an object
  kMissingName,       // no event name (or an empty / non-string one)
  kMissingTimestamp,  // no timestamp at any configured path
  kBadTimestamp,      // timestamp present but unparseable or out of range
  kBadId,             // an id, user or group id of the wrong type (not string/integer)
  kFutureTimestamp,   // timestamp too far ahead of the wall clock (events.max_future_skew)
};

inline constexpr std::array<RejectReason, 8> kAllRejectReasons = {
    RejectReason::kOversized,   RejectReason::kInvalidJson,      RejectReason::kNotObject,
    RejectReason::kMissingName, RejectReason::kMissingTimestamp, RejectReason::kBadTimestamp,
    RejectReason::kBadId,       RejectReason::kFutureTimestamp};

// The label value for `r`, e.g. "invalid_json".
constexpr absl::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kOversized: return "oversized";
    case RejectReason::kInvalidJson: return "invalid_json";
    case RejectReason::kNotObject: return "not_object";
    case RejectReason::kMissingName: return "missing_event_name";
    case RejectReason::kMissingTimestamp: return "missing_timestamp";
    case RejectReason::kBadTimestamp: return "bad_timestamp";
    case RejectReason::kBadId: return "bad_id";
    case RejectReason::kFutureTimestamp: return "future_timestamp";
  }
  return "unknown";
}

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_REJECT_REASON_H_
