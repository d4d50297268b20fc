#include "daemon/config/task_layout.h"

#include "daemon/engine/key_partitioning.h"

namespace nsmd {

TaskLayout TaskLayoutOf(const DaemonConfig& config) {
  const KafkaConfig& kafka = config.kafka;
  if (PartitionedByKey(config.metrics, *config.catalog, kafka.key_field)) {
    return TaskLayout::kPerPartition;
  }
  switch (kafka.rekey) {
    case RekeyMode::kOn: return TaskLayout::kRekeyed;  // nsmd run says why, if it cannot
    case RekeyMode::kOff: return TaskLayout::kWholeInput;
    case RekeyMode::kAuto: break;
  }
  const bool can = !kafka.key_field.empty() && kafka.assignment == PartitionAssignment::kGroup &&
                   config.state.changelog != ChangelogMode::kOff &&
                   RekeyFields(config.metrics, *config.catalog, kafka.key_field).ok();
  return can ? TaskLayout::kRekeyed : TaskLayout::kWholeInput;
}

const char* TaskLayoutName(TaskLayout layout) {
  switch (layout) {
    case TaskLayout::kPerPartition: return "per_partition";
    case TaskLayout::kRekeyed: return "rekeyed";
    case TaskLayout::kWholeInput: return "whole_input";
  }
  return "whole_input";
}

}  // namespace nsmd
