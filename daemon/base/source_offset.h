// SourceOffset: how far a source partition has been applied.
#ifndef NSMD_DAEMON_BASE_SOURCE_OFFSET_H_
#define NSMD_DAEMON_BASE_SOURCE_OFFSET_H_

#include <string>

#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"

namespace nsmd {

// The next offset to read from topic/partition: every message before it is
// reflected in the state stored with it.
struct SourceOffset {
  std::string topic;
  PartitionId partition;
  KafkaOffset next_offset;

  bool operator==(const SourceOffset&) const = default;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_SOURCE_OFFSET_H_
