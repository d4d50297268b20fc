// DeadLetterSink: rejected messages, produced to kafka.dead_letter_topic.
#ifndef NSMD_DAEMON_APP_DEAD_LETTER_SINK_H_
#define NSMD_DAEMON_APP_DEAD_LETTER_SINK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"
#include "daemon/config/daemon_config.h"
#include "daemon/decode/reject_reason.h"
#include "daemon/export/pipeline_probe.h"
#include "daemon/source/kafka_producer.h"

namespace nsmd {

// Produces each rejected message to the dead-letter topic with its original
// key and headers saying why and where from (nsmd-reject-reason,
// nsmd-error, nsmd-source-topic, -partition, -offset). Delivery is at least
// once: Flush() runs before every checkpoint, so the offsets past a dead
// letter are stored only once it is delivered. Pipeline thread only.
class DeadLetterSink {
 public:
  // A producer for `kafka.dead_letter_topic`, which must not be empty, with
  // kafka.properties; counts dead letters in `probe` (which must outlive it).
  static absl::StatusOr<std::unique_ptr<DeadLetterSink>> Create(const KafkaConfig& kafka,
                                                                PipelineProbe* probe);

  // Produces one rejected message. An oversized one is cut to its first
  // 64 KiB (header nsmd-truncated-from: its size), since the broker would
  // refuse it whole. One the producer cannot queue yet is kept by it and
  // produced again by Flush().
  void Add(absl::string_view source_topic, PartitionId partition, KafkaOffset offset,
           absl::string_view key, absl::string_view payload, RejectReason reason,
           const absl::Status& error);

  // Delivers what Add() produced so far (waits up to 5 s). Unavailable while
  // anything is undelivered.
  absl::Status Flush();

 private:
  DeadLetterSink(std::string topic, std::unique_ptr<KafkaProducer> producer, PipelineProbe* probe);

  const std::string topic_;
  const std::unique_ptr<KafkaProducer> producer_;
  PipelineProbe* const probe_;
  bool pending_ = false;  // produced since the last successful Flush()
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_DEAD_LETTER_SINK_H_
