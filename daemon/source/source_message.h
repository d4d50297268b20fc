// SourceMessage: one message as a source hands it to the pipeline.
#ifndef NSMD_DAEMON_SOURCE_SOURCE_MESSAGE_H_
#define NSMD_DAEMON_SOURCE_SOURCE_MESSAGE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace nsmd {

// A message and where it came from. The views are valid only during the
// callback that receives it.
struct SourceMessage {
  absl::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  absl::string_view key;
  absl::string_view payload;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_SOURCE_MESSAGE_H_
