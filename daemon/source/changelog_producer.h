// ChangelogProducer: writes checkpoints' changelog records in Kafka
// transactions.
#ifndef NSMD_DAEMON_SOURCE_CHANGELOG_PRODUCER_H_
#define NSMD_DAEMON_SOURCE_CHANGELOG_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/base/source_offset.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/state/changelog_record.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;
typedef struct rd_kafka_consumer_group_metadata_s rd_kafka_consumer_group_metadata_t;

namespace nsmd {

// One transactional librdkafka producer (transactional.id given): each
// Commit() is one transaction holding every record of a checkpoint and,
// with send_offsets_to_transaction, the input offsets it reflects.
// Thread-compatible: one thread (the checkpoint writer's) calls Commit();
// EnsureTopics() is called before.
class ChangelogProducer {
 public:
  // The records of one changelog partition, in order.
  struct PartitionRecords {
    TopicPartitionId partition;  // of the changelog topic
    std::vector<ChangelogRecord> records;
  };

  // `properties` go to librdkafka verbatim after nsmd's settings
  // (transactional.id among them). InvalidArgument if librdkafka refuses
  // one (named, value redacted).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ChangelogProducer>> Create(
      const std::string& brokers, const std::map<std::string, std::string>& properties,
      const std::string& transactional_id);
  ~ChangelogProducer();
  ChangelogProducer(const ChangelogProducer&) = delete;
  ChangelogProducer& operator=(const ChangelogProducer&) = delete;

  // A topic nsmd writes: a changelog (compacted, at least as many
  // partitions as the topic `like` whose tasks it logs) or a repartition
  // topic (not compacted, any number of partitions; created with
  // `partitions`, 0: as many as `like`).
  struct TopicSpec {
    std::string topic;
    std::string like;
    bool changelog = true;
    int partitions = 0;
  };

  // Makes sure each of `topics` exists, in order (a spec's `like` may be an
  // earlier spec's topic), creating a missing one with the Admin API, and
  // returns the partition count of every topic named (`like` ones too). FailedPrecondition, saying
  // what to do, if a changelog topic has fewer partitions than its `like` or a topic cannot be
  // created (librdkafka's mock cluster has no CreateTopics); NotFound if a `like` topic does not
  // exist; Unavailable if the cluster does not answer within `timeout`.
  [[nodiscard]] absl::StatusOr<std::map<std::string, int>> EnsureTopics(
      const std::vector<TopicSpec>& topics, absl::Duration timeout);

  // Writes `batches` and commits `input_offsets` for the consumer group of
  // `group` (not owned; may be null: no offsets sent) in one transaction,
  // and returns, for each changelog partition written, the offset after its
  // last record. Unavailable (after aborting the transaction) if any step
  // fails: nothing of it is to be taken as written. A fatal producer error
  // (e.g. fenced) makes the next Commit() start a new producer.
  [[nodiscard]] absl::StatusOr<std::map<TopicPartitionId, int64_t>> Commit(
      const std::vector<PartitionRecords>& batches, const std::vector<SourceOffset>& input_offsets,
      rd_kafka_consumer_group_metadata_t* group);
  // TEST ONLY: `hook(n)` runs in each Commit() after the records of its
  // first n batches are produced (a crash point; Flush() delivers them).
  void set_after_batches(std::function<void(size_t)> hook) { after_batches_ = std::move(hook); }

  // Waits until every record produced so far is delivered (within the
  // transaction timeout).
  void Flush();

  // The same for batches held elsewhere (not owned; none null).
  [[nodiscard]] absl::StatusOr<std::map<TopicPartitionId, int64_t>> Commit(
      const std::vector<const PartitionRecords*>& batches,
      const std::vector<SourceOffset>& input_offsets, rd_kafka_consumer_group_metadata_t* group);

 private:
  ChangelogProducer(std::string brokers, std::map<std::string, std::string> properties,
                    std::string transactional_id)
      : brokers_(std::move(brokers)),
        properties_(std::move(properties)),
        transactional_id_(std::move(transactional_id)) {}
  // (Re)creates rk_ and runs init_transactions.
  absl::Status Connect();
  absl::Status Produce(const TopicPartitionId& partition, const ChangelogRecord& record);
  static void DeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  const std::string brokers_;
  const std::map<std::string, std::string> properties_;
  const std::string transactional_id_;
  std::function<void(size_t)> after_batches_;
  rd_kafka_t* rk_ = nullptr;
  bool initialized_ = false;  // init_transactions succeeded on rk_
  absl::Mutex mu_;            // the delivery callback runs on librdkafka's threads
  std::map<TopicPartitionId, int64_t> delivered_ ABSL_GUARDED_BY(mu_);  // offset after last
  std::string delivery_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_CHANGELOG_PRODUCER_H_
