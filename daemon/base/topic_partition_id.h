// TopicPartitionId: names one Kafka partition.
#ifndef NSMD_DAEMON_BASE_TOPIC_PARTITION_ID_H_
#define NSMD_DAEMON_BASE_TOPIC_PARTITION_ID_H_

#include <string>

#include "daemon/base/partition_id.h"

namespace nsmd {

// A topic and a partition number within it.
struct TopicPartitionId {
  std::string topic;
  PartitionId partition;

  bool operator==(const TopicPartitionId&) const = default;
  auto operator<=>(const TopicPartitionId&) const = default;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_TOPIC_PARTITION_ID_H_
