// PartitionTask: the state of one source partition, as a unit that moves.
#ifndef NSMD_DAEMON_APP_PARTITION_TASK_H_
#define NSMD_DAEMON_APP_PARTITION_TASK_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/decode/event_counts.h"
#include "daemon/engine/engine.h"
#include "daemon/state/state_delta.h"
#include "daemon/state/state_store.h"

namespace nsmd {

// One task per source partition (the Kafka Streams model): its own Engine
// (windows, members, dedup ids, stream time) computes the metrics over that
// partition's events only, and every row it persists lies under the task's
// key prefix "t/<topic>/<partition>/", so the task can be loaded, dropped
// and moved to another instance as a unit. Events are keyed by entity, so
// tasks hold disjoint shares and their values add up (SeriesMerge).
//
// When some metric is not partitioned by the messages' key
// (KeyPartitioning), one task reads every partition instead: the whole-input
// task (WholeInput(), rows under "t/*/"), whose engine has a source per
// partition. Thread-compatible.
class PartitionTask {
 public:
  // Creates the task of `id` running `metrics` and restores its rows from
  // `store`. Rows of metrics removed or redefined since are not loaded;
  // their prefixes (under the task's) are in stale_prefixes() for the caller
  // to delete. DataLoss on an undecodable row; the store's errors as is.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PartitionTask>> Load(
      TopicPartitionId id, const std::vector<MetricDefinition>& metrics,
      const EngineOptions& options, const StateStore& store, bool retain_all_windows);

  // "t/<topic>/<partition>/": the prefix of every row of task `id`;
  // "t/*/" for WholeInput().
  static std::string KeyPrefix(const TopicPartitionId& id);

  // The id of the whole-input task ('*' is no valid topic name; partition
  // -1, shown as "*" on the partition gauges).
  static TopicPartitionId WholeInput() { return TopicPartitionId{"*", PartitionId(-1)}; }

  // The engine's index of source `name` ("<topic>/<partition>"),
  // registering it on first use.
  int SourceIndex(absl::string_view name) { return engine_->RegisterSource(name); }

  // Applies one decoded event of source `source` (a SourceIndex), and
  // counts its outcome.
  Engine::Outcome Apply(const Event& event, int source) {
    const Engine::Outcome outcome = engine_->Apply(event, source);
    switch (outcome) {
      case Engine::Outcome::kApplied: ++counts_.applied; break;
      case Engine::Outcome::kLate: ++counts_.late; break;
      case Engine::Outcome::kDuplicate: ++counts_.duplicate; break;
    }
    return outcome;
  }
  // Counts a message read from one of the task's partitions, and one that
  // did not decode.
  void CountConsumed() { ++counts_.consumed; }
  void CountRejected(RejectReason reason) { ++counts_.rejected[static_cast<size_t>(reason)]; }

  // For a task of a repartition topic, whose records come from many input
  // partitions (origins): true if the record of origin `source` (a
  // SourceIndex named `source_name`) at origin `offset` comes after the
  // last one taken from it, which it then becomes; false for one at or
  // before it, written again by a checkpoint retried after a failure or a
  // crash (its input was processed again from an older checkpoint). The
  // marks persist with the task (rows "<prefix>h/<origin>").
  bool TakeOrigin(int source, absl::string_view source_name, KafkaOffset offset);

  // Moves the engine's changes since the last call, and the counts if they
  // changed, into *delta, under the task's prefix.
  void TakeDelta(StateDelta* delta);

  // What became of the task's messages since its state began (persisted
  // with it, under "<prefix>n").
  const EventCounts& counts() const { return counts_; }

  const TopicPartitionId& id() const { return id_; }
  const std::string& name() const { return name_; }
  const Engine& engine() const { return *engine_; }
  Engine& mutable_engine() { return *engine_; }
  // Full keys ("t/.../m/<name>/<fingerprint>/") of stale rows found by Load.
  const std::vector<std::string>& stale_prefixes() const { return stale_prefixes_; }

 private:
  PartitionTask(TopicPartitionId id, std::unique_ptr<Engine> engine);
  // Restores an "h/<origin>" row.
  absl::Status RestoreOrigin(absl::string_view key, absl::string_view value);

  TopicPartitionId id_;
  std::string name_;  // "<topic>/<partition>"
  std::string prefix_;
  std::unique_ptr<Engine> engine_;
  StateDelta scratch_;
  EventCounts counts_;
  EventCounts persisted_counts_;  // as of the last TakeDelta()
  struct OriginMark {
    std::string name;    // "" until the origin is seen
    KafkaOffset next;    // offset after the last record taken
    bool dirty = false;  // changed since the last TakeDelta()
  };
  std::vector<OriginMark> origins_;  // by SourceIndex
  std::vector<std::string> stale_prefixes_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_PARTITION_TASK_H_
