#include "daemon/decode/event_format.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nsmd {

EventFormat EventFormat::Segment() {
  EventFormat f;
  f.format_name = "segment";
  f.name_paths = {"event", "type"};
  f.names_requiring_first_path = {"track"};
  f.time_paths = {"timestamp", "originalTimestamp", "receivedAt"};
  f.id_paths = {"messageId"};
  f.user_path = "userId";
  f.user_fallback_paths = {"anonymousId"};
  f.group_paths = {"context.groupId"};
  return f;
}

EventFormat EventFormat::Amplitude() {
  EventFormat f;
  f.format_name = "amplitude";
  f.name_paths = {"event_type"};
  f.time_paths = {"time"};
  f.id_paths = {"insert_id"};
  f.user_path = "user_id";
  f.user_fallback_paths = {"device_id"};
  return f;
}

absl::StatusOr<EventFormat> EventFormat::ByName(absl::string_view name) {
  if (name == "segment") return Segment();
  if (name == "amplitude") return Amplitude();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown event format \"", name, "\" (expected segment or amplitude)"));
}

}  // namespace nsmd
