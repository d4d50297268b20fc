// EventFormat: where the standard parts of an event live in its JSON.
#ifndef NSMD_DAEMON_DECODE_EVENT_FORMAT_H_
#define NSMD_DAEMON_DECODE_EVENT_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nsmd {

// Paths of the event name, time, dedup id and user of an event. Each list is
// tried in order and the first present, non-null value wins (Segment's userId
// falls back to anonymousId this way).
struct EventFormat {
  std::string format_name;              // "segment", "amplitude" or "custom"
  std::vector<std::string> name_paths;  // e.g. {"event", "type"}
  // Values that a later name path (not the first) may hold without being a
  // name: a message whose name would come out as one of these is rejected as
  // missing its name. Segment: {"track"}, since a track call must carry
  // "event" and its "type" is no event name. Empty for other formats.
  std::vector<std::string> names_requiring_first_path;
  std::vector<std::string> time_paths;  // ISO-8601 string or epoch millis
  std::vector<std::string> id_paths;    // string (or integer) dedup id
  // The field path metrics use for "the user" (segment: "userId") and where
  // its value comes from when that path itself is missing.
  std::string user_path;
  std::vector<std::string> user_fallback_paths;
  // Paths of group (account, team) ids; each present, non-null one must be
  // a string or an integer, like the id and the user (segment:
  // "context.groupId"). Metrics address them as ordinary fields.
  std::vector<std::string> group_paths;

  // Segment track/page/identify/group calls: event (or type), timestamp,
  // messageId, userId falling back to anonymousId, context.groupId.
  static EventFormat Segment();
  // Amplitude HTTP API events: event_type, time (epoch ms), insert_id,
  // user_id falling back to device_id.
  static EventFormat Amplitude();
  // Returns the preset called `name` ("segment" or "amplitude").
  [[nodiscard]] static absl::StatusOr<EventFormat> ByName(absl::string_view name);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_EVENT_FORMAT_H_
