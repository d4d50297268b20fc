// TaskLayout: how a config's state splits into tasks.
#ifndef NSMD_DAEMON_CONFIG_TASK_LAYOUT_H_
#define NSMD_DAEMON_CONFIG_TASK_LAYOUT_H_

#include "daemon/config/daemon_config.h"

namespace nsmd {

enum class TaskLayout {
  kPerPartition,  // the messages' key partitions every metric
  kRekeyed,       // one task per partition; the others' events re-keyed
  kWholeInput,    // one task for all events: one instance per group
};

// The layout `config` runs with (the one decision `nsmd run`, `nsmd check`
// and `nsmd rules` share):
//   - kPerPartition if kafka.key_field partitions every metric
//     (PartitionedByKey);
//   - kRekeyed with kafka.rekey: true, or with auto when key_field is set,
//     the assignment is a consumer group, the changelog is not off and each
//     other metric can be re-keyed by one field (RekeyFields);
//   - kWholeInput otherwise.
TaskLayout TaskLayoutOf(const DaemonConfig& config);

// "per_partition", "rekeyed" or "whole_input": the state dir's `tasks`.
const char* TaskLayoutName(TaskLayout layout);

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_TASK_LAYOUT_H_
