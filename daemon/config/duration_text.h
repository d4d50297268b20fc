// Durations as config files write them: "1500ms", "30s", "5m", "72h", "7d", "2w".
#ifndef NSMD_DAEMON_CONFIG_DURATION_TEXT_H_
#define NSMD_DAEMON_CONFIG_DURATION_TEXT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace nsmd {

// Parses a non-negative whole number followed by one unit: ms, s, m, h, d
// (24 h) or w (7 d); "0" alone is zero. InvalidArgument with an example of
// the accepted form otherwise.
[[nodiscard]] absl::StatusOr<absl::Duration> ParseDurationText(absl::string_view text);

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_DURATION_TEXT_H_
