// KafkaOffset: the position of a message within a Kafka partition.
#ifndef NSMD_DAEMON_BASE_KAFKA_OFFSET_H_
#define NSMD_DAEMON_BASE_KAFKA_OFFSET_H_

#include <cstdint>

#include "daemon/base/strong_int.h"

namespace nsmd {

// An offset in a partition (0, 1, ...): of a message, or the next one to
// read; not to be mixed up with a partition, a count or a time. Where there
// may be no offset, std::optional<KafkaOffset> rather than a -1.
class KafkaOffset : public StrongInt<KafkaOffset, int64_t> {
 public:
  using StrongInt::StrongInt;

  // The offset after this one: where to read on once this message is
  // applied.
  constexpr KafkaOffset Next() const { return KafkaOffset(value() + 1); }
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_KAFKA_OFFSET_H_
