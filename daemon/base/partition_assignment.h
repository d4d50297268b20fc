// PartitionAssignment: where a Kafka source's partitions come from.
#ifndef NSMD_DAEMON_BASE_PARTITION_ASSIGNMENT_H_
#define NSMD_DAEMON_BASE_PARTITION_ASSIGNMENT_H_

namespace nsmd {

// kafka.assignment in the config.
enum class PartitionAssignment {
  // Those the consumer group assigns this instance ("group"): instances of
  // one group share the partitions, and each start waits for a rebalance.
  kGroup,
  // Every partition of the topics, assigned by the source itself without
  // joining the group ("all"): no rebalance on start, one instance per
  // topic set. Offsets are still committed to the group id.
  kAllPartitions,
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_PARTITION_ASSIGNMENT_H_
