// EventCounts: what became of the messages read, by outcome.
#ifndef NSMD_DAEMON_DECODE_EVENT_COUNTS_H_
#define NSMD_DAEMON_DECODE_EVENT_COUNTS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/decode/reject_reason.h"

namespace nsmd {

// Messages consumed, and of those: applied, late, duplicate, rejected by
// reason. A pipeline counts since start; a task since its state began
// (persisted with it, so the counts move with the task).
struct EventCounts {
  uint64_t consumed = 0;
  uint64_t applied = 0;
  uint64_t late = 0;
  uint64_t duplicate = 0;
  std::array<uint64_t, kAllRejectReasons.size()> rejected{};

  uint64_t rejected_total() const;
  // Adds `other`'s counts to these.
  EventCounts& operator+=(const EventCounts& other);
  bool operator==(const EventCounts& other) const = default;

  // The persisted form, readable in `ldb scan`: "consumed=12 applied=9
  // late=1 duplicate=1 rejected.invalid_json=1", zero counts left out.
  std::string Encode() const;
  // Parses Encode()'s form into *out (counts not named are 0). DataLoss on
  // an unknown name or a malformed count.
  [[nodiscard]] static absl::Status Decode(absl::string_view text, EventCounts* out);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_COUNTS_H_
