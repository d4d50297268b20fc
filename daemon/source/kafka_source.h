// KafkaSource: the Kafka reader nsmd's pipeline pulls messages from.
#ifndef NSMD_DAEMON_SOURCE_KAFKA_SOURCE_H_
#define NSMD_DAEMON_SOURCE_KAFKA_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/base/partition_assignment.h"
#include "daemon/base/source_message.h"
#include "daemon/base/source_offset.h"
#include "daemon/base/topic_partition_id.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;
typedef struct rd_kafka_consumer_group_metadata_s rd_kafka_consumer_group_metadata_t;

namespace nsmd {

// A librdkafka high-level consumer (C API) with auto-commit off: nsmd
// decides where each partition starts (its own checkpoint, stored with the
// state) and commits offsets to `group_id` only after a checkpoint, for lag
// tools.
//
// Its partitions come either from the consumer group (kGroup) or from the
// topics' metadata (kAllPartitions: every partition of every topic, assigned
// by the source itself without joining the group, as a stream processor that
// keeps its own offsets does; a start then waits for no group join and no
// rebalance delay, and one instance reads the whole topic set).
//
// Assignments call back into the owner on the polling thread: `on_assign`
// to learn the checkpointed next offset of each newly assigned partition,
// and (kGroup) `on_revoke` before partitions are released (checkpoint now).
// A partition with no checkpoint starts from `start_offset` (earliest or
// latest) — never from the group's committed offset, which may belong to
// another instance's state — and the log says so.
//
// Poll, CommitOffsets and Close run on one thread (the pipeline's);
// Assignment, Lag and Connected may be called from any thread.
class KafkaSource {
 public:
  struct Options {
    std::string brokers;
    std::string group_id;
    std::vector<std::string> topics;
    // Passed verbatim to librdkafka after nsmd's defaults, so they win
    // (security.protocol, sasl.*, ssl.*, fetch.*, group.instance.id for
    // static membership, session.timeout.ms, ...). Values are never logged.
    std::map<std::string, std::string> properties;
    std::string start_offset = "earliest";  // "earliest" or "latest"
    // kGroup: the group.instance.id of static membership (a restart within
    // session.timeout.ms gets the same partitions back, with no rebalance);
    // empty: a dynamic member. A group.instance.id property wins.
    std::string instance_id;
    PartitionAssignment assignment = PartitionAssignment::kGroup;
    // kAllPartitions: how often the topics' metadata is read again for
    // partitions added (and topics created) since; every second while no
    // partition is assigned.
    absl::Duration discovery_interval = absl::Seconds(30);
    std::function<void(const std::vector<TopicPartitionId>&)> on_revoke;
    std::function<std::vector<SourceOffset>(const std::vector<TopicPartitionId>&)> on_assign;
  };

  // Creates the consumer and (kGroup) subscribes to the topics; kAllPartitions
  // assigns them in the first Poll(). InvalidArgument names a property
  // librdkafka refuses (without its value).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KafkaSource>> Create(Options options);
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Waits up to `timeout` for a message, then hands `fn` that message and
  // every other one already fetched, up to `max_messages`; each lends its
  // bytes (SourceMessage::lease). Returns how many were delivered.
  // kAllPartitions: first assigns the partitions found since the last look
  // (at most once per discovery_interval: one metadata request).
  // Transient errors (broker down, partition EOF) are logged at a bounded
  // rate, not returned: the consumer keeps retrying.
  [[nodiscard]] absl::StatusOr<int> Poll(int max_messages, absl::Duration timeout,
                                         absl::FunctionRef<void(SourceMessage&)> fn);

  // Commits `next_offsets` of the assigned partitions to the group,
  // asynchronously (for lag tools; nsmd's own resume point is its state).
  [[nodiscard]] absl::Status CommitOffsets(const std::vector<SourceOffset>& next_offsets);

  // Stops fetching from the assigned partitions (e.g. while checkpoints
  // fail) while staying in the group, or resumes them.
  void Pause(bool paused);

  // The consumer's group metadata (member, generation), for a transactional
  // producer's send_offsets_to_transaction; the caller destroys it
  // (rd_kafka_consumer_group_metadata_destroy). Thread-safe.
  rd_kafka_consumer_group_metadata_t* GroupMetadata() const;

  // The partitions currently assigned to this instance, sorted.
  std::vector<TopicPartitionId> Assignment() const;

  // Per assigned partition: messages behind its high watermark (from the
  // last fetch; -1 if not known yet).
  std::vector<std::pair<TopicPartitionId, int64_t>> Lag() const;

  // The assigned partitions nothing is known to have been read from: no
  // checkpoint named a resume offset and no message of theirs was polled.
  std::vector<TopicPartitionId> Unread() const;

  // True while at least one broker connection is up (from librdkafka's
  // statistics, refreshed every second), and for 2 s after a broker answered
  // (statistics or errors from before the answer may be served after it:
  // during a long state load, say).
  bool Connected() const;

  // How many events librdkafka holds for the next Poll() to serve:
  // statistics, errors and rebalances waiting for their callbacks, and
  // fetched messages. Any thread.
  int PendingEvents() const;

  // Leaves the group (kGroup: on_revoke runs first) and closes the consumer, waiting
  // at most `timeout`: with no broker reachable librdkafka would wait for the
  // group coordinator indefinitely, so past the deadline the consumer is
  // abandoned without leaving (the group drops it after session.timeout.ms)
  // and the log says so. Idempotent; the destructor calls it.
  void Close(absl::Duration timeout = absl::Seconds(5));

 private:
  explicit KafkaSource(Options options);
  static void RebalanceCallback(rd_kafka_t* rk, int err, rd_kafka_topic_partition_list_t* parts,
                                void* opaque);
  static void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int StatsCallback(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  static void LogCallback(const rd_kafka_t* rk, int level, const char* facility,
                          const char* message);
  void OnRebalance(int err, rd_kafka_topic_partition_list_t* parts);
  // Sets the start offset of each of `parts` (its checkpoint from on_assign,
  // else start_offset), records it and adds `parts` to the assignment
  // (incrementally, or replacing it).
  void Assign(rd_kafka_topic_partition_list_t* parts, bool incremental);
  // kAllPartitions: assigns the partitions of the topics not assigned yet,
  // if the next look is due.
  void DiscoverPartitions();
  // A broker answered (a message, topic metadata): connected now, and for a
  // while whatever librdkafka's queued events say (see Connected()).
  void NoteBrokerAnswered();
  void LogRateLimited(const std::string& message);

  Options options_;
  rd_kafka_t* rk_ = nullptr;
  bool closed_ = false;
  bool close_abandoned_ = false;  // Close() timed out: destroy without closing
  bool paused_ = false;
  std::atomic<bool> connected_{false};
  // When a broker last answered (a message, topic metadata): microseconds
  // of the monotonic clock.
  std::atomic<int64_t> answered_at_us_{0};
  absl::Time last_log_ = absl::InfinitePast();
  absl::Time next_discovery_ = absl::InfinitePast();  // kAllPartitions
  int suppressed_logs_ = 0;

  mutable absl::Mutex mu_;
  // Next offset to read per assigned partition ("topic" + partition).
  // None until the first message of a partition without a checkpoint.
  std::map<TopicPartitionId, std::optional<KafkaOffset>> positions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_KAFKA_SOURCE_H_
