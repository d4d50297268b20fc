// SourceOffset: how far a source partition has been applied.
#ifndef NSMD_DAEMON_BASE_SOURCE_OFFSET_H_
#define NSMD_DAEMON_BASE_SOURCE_OFFSET_H_

#include <cstdint>
#include <string>

namespace nsmd {

// The next offset to read from topic/partition: every message before it is
// reflected in the state stored with it.
struct SourceOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;

  bool operator==(const SourceOffset&) const = default;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_SOURCE_OFFSET_H_
