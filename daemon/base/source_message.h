// SourceMessage: one message as a source hands it to the pipeline.
#ifndef NSMD_DAEMON_BASE_SOURCE_MESSAGE_H_
#define NSMD_DAEMON_BASE_SOURCE_MESSAGE_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"

namespace nsmd {

// Frees the bytes a source lent with a message when destroyed; from any
// thread.
using MessageLease = std::unique_ptr<void, void (*)(void*)>;

// A message and where it came from. The views are valid during the callback
// that receives it, and afterwards for as long as whoever moved `lease` out
// keeps it.
struct SourceMessage {
  absl::string_view topic;
  PartitionId partition;
  KafkaOffset offset;
  absl::string_view key;
  absl::string_view payload;
  // The source's hold on the bytes the views point into; empty if the
  // source does not lend them. Left in place, the source frees the bytes
  // when the callback returns.
  MessageLease lease{nullptr, nullptr};
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_SOURCE_MESSAGE_H_
