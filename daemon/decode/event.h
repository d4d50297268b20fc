// Event: one decoded product event, as it enters the engine.
#ifndef NSMD_DAEMON_DECODE_EVENT_H_
#define NSMD_DAEMON_DECODE_EVENT_H_

#include <cstdint>
#include "absl/strings/string_view.h"
#include <vector>

#include "daemon/decode/field_catalog.h"
#include "daemon/decode/field_value.h"

namespace nsmd {

// A decoded event. Views point into the decoder's buffer: valid until the
// next Decode() on the same EventDecoder. The decoder reuses one Event per
// call, so the hot path allocates nothing.
struct Event {
  absl::string_view name;   // "file_edited"; never empty after a successful decode
  int64_t time_ms = 0;     // event time, milliseconds since the Unix epoch (UTC)
  absl::string_view id;     // dedup id (Segment messageId); empty if absent
  // fields[id] is the value at catalog path `id`; size() == catalog.size().
  std::vector<FieldValue> fields;

  // The value of field `id`; Missing for kNoField or an id out of range.
  const FieldValue& field(FieldId id) const {
    static const FieldValue kMissing;
    return id < 0 || static_cast<size_t>(id) >= fields.size() ? kMissing : fields[id];
  }
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_H_
