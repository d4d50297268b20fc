// TaskChangelog: every per-partition task's state, mirrored to a Kafka
// changelog topic at each checkpoint and restored from it on assignment.
#ifndef NSMD_DAEMON_APP_TASK_CHANGELOG_H_
#define NSMD_DAEMON_APP_TASK_CHANGELOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/source_offset.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/source/changelog_producer.h"
#include "daemon/source/changelog_reader.h"
#include "daemon/state/state_delta.h"
#include "daemon/state/state_store.h"

namespace nsmd {

// The changelog of the tasks of one process (format: changelog_record.cc).
// Write() runs on the checkpoint writer's thread: it turns a checkpoint's
// delta into each touched task's records and commits them, with the input
// offsets, in one Kafka transaction before the caller commits the RocksDB
// batch. Restore() runs on the pipeline thread while no checkpoint is in
// flight. Thread-safe for that split (one Write or Restore at a time).
class TaskChangelog {
 public:
  // Returns the consumer group metadata for send_offsets_to_transaction
  // (caller owns it; null if none).
  using GroupMetadataFn = std::function<rd_kafka_consumer_group_metadata_t*()>;

  // What one Restore() did.
  struct Restored {
    uint64_t records = 0;      // changelog records read
    uint64_t rows = 0;         // rows written (puts and deletes)
    uint64_t checkpoints = 0;  // complete checkpoints applied
    bool from_start = false;   // no local changelog offset: local rows discarded
    // The task's input next offset after the restore (nullopt: none, the
    // partition starts from kafka.start_offset).
    std::optional<KafkaOffset> input_next_offset;
    absl::Duration elapsed;
  };

  // "<group_id>-<topic>-changelog"; "<topic>-changelog" for a topic of
  // the group's own ("<group_id>-...", a repartition topic).
  static std::string TopicName(absl::string_view group_id, absl::string_view topic);

  // `transactional_id` is this process's (derived from group and instance).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TaskChangelog>> Create(
      const std::string& brokers, const std::map<std::string, std::string>& properties,
      std::string group_id, const std::string& transactional_id, GroupMetadataFn group_metadata);

  // Creates what is missing of the repartition topics `rekey_topics`
  // (with `rekey_partitions` partitions, 0: as many as the first of
  // `topics`), then of the changelog topics of `topics` and of the
  // repartition topics (see ChangelogProducer::EnsureTopics for the errors).
  // Returns the partition count of every one of `topics` and
  // `rekey_topics`.
  [[nodiscard]] absl::StatusOr<std::map<std::string, int>> EnsureTopics(
      const std::vector<std::string>& topics, const std::vector<std::string>& rekey_topics = {},
      int rekey_partitions = 0);

  // Writes the changelog records of checkpoint `delta` + `offsets` (keys
  // under "t/<topic>/<partition>/", offsets of those partitions) in one
  // transaction: every task with changed rows or a changed input offset gets
  // its tombstones (a prefix deletion becomes one per row `store` holds under
  // it), puts and marker. On success *changelog_offsets holds, per task
  // written, the input topic/partition and its changelog end (for the "c/"
  // rows of the same RocksDB batch). Unavailable if the transaction failed
  // (aborted: the checkpoint is to be retried).
  // `rekeyed` (records of repartition topics) go into the same
  // transaction, before the changelog records.
  [[nodiscard]] absl::Status Write(const StateDelta& delta,
                                   const std::vector<SourceOffset>& offsets,
                                   const std::vector<ChangelogProducer::PartitionRecords>& rekeyed,
                                   const StateStore& store,
                                   std::vector<SourceOffset>* changelog_offsets);

  // Brings the rows of task `id` in *store up to its changelog: reads from
  // the changelog offset *store holds for it (none, or one below the log
  // start: discards the task's local rows and reads from the start) to the
  // end, and commits the complete checkpoints' rows with the last marker's
  // input offset ("o/") and changelog end ("c/"). Errors: the reader's
  // (Unavailable, DeadlineExceeded), DataLoss on a malformed record, the
  // store's.
  [[nodiscard]] absl::StatusOr<Restored> Restore(const TopicPartitionId& id, StateStore* store);

 private:
  TaskChangelog(std::string group_id, std::string transactional_id,
                std::unique_ptr<ChangelogProducer> producer,
                std::unique_ptr<ChangelogReader> reader, GroupMetadataFn group_metadata)
      : group_id_(std::move(group_id)),
        id_base_(std::move(transactional_id)),
        producer_(std::move(producer)),
        reader_(std::move(reader)),
        group_metadata_(std::move(group_metadata)) {}

  const std::string group_id_;
  const std::string id_base_;  // checkpoint ids: "<id_base_>/<seq>"
  const std::unique_ptr<ChangelogProducer> producer_;
  const std::unique_ptr<ChangelogReader> reader_;
  const GroupMetadataFn group_metadata_;
  absl::Mutex mu_;
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  // The input offset each task's last marker carried (written or restored).
  std::map<TopicPartitionId, KafkaOffset> marked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_TASK_CHANGELOG_H_
