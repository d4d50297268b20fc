// PartitionId: the number of a partition within a Kafka topic.
#ifndef NSMD_DAEMON_BASE_PARTITION_ID_H_
#define NSMD_DAEMON_BASE_PARTITION_ID_H_

#include <cstdint>

#include "daemon/base/strong_int.h"

namespace nsmd {

// A partition number, as Kafka numbers them (0, 1, ...): not to be mixed up
// with an offset, a count or a source index.
class PartitionId : public StrongInt<PartitionId, int32_t> {
 public:
  using StrongInt::StrongInt;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_PARTITION_ID_H_
