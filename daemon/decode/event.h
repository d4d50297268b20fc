// Event: one decoded product event, as it enters the engine.
#ifndef NSMD_DAEMON_DECODE_EVENT_H_
#define NSMD_DAEMON_DECODE_EVENT_H_

#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/decode/field_value.h"
#include "daemon/decode/key_hash.h"

namespace nsmd {

// A decoded event. Views point into the decoder's buffer: valid until the
// next Decode() on the same EventDecoder. The decoder reuses one Event per
// call, so the hot path allocates nothing.
struct Event {
  absl::string_view name;  // "file_edited"; never empty after a successful decode
  EventTime time;          // the event's own timestamp
  absl::string_view id;    // dedup id (Segment messageId); empty if absent
  // HashKeyText(id), set by the decoder for a non-empty id (id_hashed);
  // read through IdHash().
  absl::uint128 id_hash = 0;
  bool id_hashed = false;
  // fields[id] is the value at catalog path `id`; size() == catalog.size().
  std::vector<FieldValue> fields;

  // HashKeyText(id): the decoder's, if it computed it, else computed now.
  absl::uint128 IdHash() const { return id_hashed ? id_hash : HashKeyText(id); }

  // The value of field `f`; Missing for kNoField or an id out of range.
  const FieldValue& field(FieldId f) const {
    static const FieldValue kMissing;
    return f < 0 || static_cast<size_t>(f) >= fields.size() ? kMissing : fields[f];
  }
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_H_
