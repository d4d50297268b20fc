// Pipeline: decode -> engine -> state for messages from any source.
#ifndef NSMD_DAEMON_APP_PIPELINE_H_
#define NSMD_DAEMON_APP_PIPELINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/app/partition_task.h"
#include "daemon/base/event_time.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"
#include "daemon/base/source_offset.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/config/daemon_config.h"
#include "daemon/decode/decoded_batch.h"
#include "daemon/decode/event_counts.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/reject_reason.h"
#include "daemon/engine/engine.h"
#include "daemon/source/changelog_producer.h"
#include "daemon/state/state_store.h"

namespace nsmd {

class CheckpointWriter;
class PipelineProbe;
class TaskChangelog;

// The stages every message goes through, whatever its source (a Kafka
// partition or a replayed file): decode, apply to the engine of the
// partition's task (PartitionTask), remember the next offset; and the
// checkpoint that persists every task's changes and offsets in one atomic
// StateStore commit, written on a background thread. The source-specific
// loop (Kafka, file) drives it and says which tasks this instance owns
// (AssignTasks/RevokeTasks); the numbers it shows (Snapshot) are those of
// the tasks it owns, added up.
//
// Threads: one thread owns the pipeline (calls every method) except that,
// after SetLanes(n), the tasks are spread over n lanes (LaneOf()) and n
// applying threads may each run ProcessLaneBatch() on their own lane at the
// same time, while the owner calls only the methods marked as safe then
// (LaneOf, Routed, ReportLaneCounts). Every other method needs every lane
// idle (no ProcessLaneBatch() running): see ApplyPool::Pause()/Drain().
class Pipeline {
 public:
  // Counts since start, by outcome.
  using Counts = EventCounts;

  // Receives each rejected message (e.g. to produce it to a dead-letter
  // topic): its source position, original key and bytes, reason and error.
  using RejectSink = std::function<void(
      absl::string_view topic, PartitionId partition, KafkaOffset offset, absl::string_view key,
      absl::string_view payload, RejectReason reason, const absl::Status& error)>;

  // Builds the decoder and engine for `config`. `store` (owned by the
  // caller, outliving the pipeline) holds state and offsets. `probe` may be
  // null (no self-metrics).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Pipeline>> Create(const DaemonConfig& config,
                                                                        StateStore* store,
                                                                        PipelineProbe* probe);
  ~Pipeline();

  // Loads the checkpointed offsets from the store. Call once, before
  // anything else; tasks load their own state when assigned.
  [[nodiscard]] absl::Status LoadState();

  // Mirrors every checkpoint to `changelog` (not owned, outliving the
  // pipeline; null: none) and restores each task from it when assigned (see
  // AssignTasks). Call before the first checkpoint.
  void set_changelog(TaskChangelog* changelog);

  // Takes on the tasks of `partitions` not owned yet: with a changelog,
  // first brings each one's rows in the store up to it (waiting for a
  // checkpoint in flight; logged and counted in the probe), then loads each
  // one's state from the store (deleting rows of metrics removed or
  // redefined since, and logging it). Returns where each of `partitions` resumes: the next offset
  // after the last message the task's state holds, or none for a partition
  // this instance never processed (it starts from kafka.start_offset).
  [[nodiscard]] absl::StatusOr<std::vector<SourceOffset>> AssignTasks(
      const std::vector<TopicPartitionId>& partitions);

  // Gives up the tasks of `partitions`: their numbers leave Snapshot() at
  // once and their memory is freed at the next successful checkpoint (at
  // once when nothing of theirs is pending), so checkpoint first. A task
  // assigned again before that is taken back as it is.
  void RevokeTasks(const std::vector<TopicPartitionId>& partitions);

  // The tasks this instance owns, in order (the whole-input task is
  // {"*", -1}).
  std::vector<TopicPartitionId> OwnedTasks() const;

  // True if `config` runs one task per partition: every metric is
  // partitioned by the messages' key (PartitionedByKey). Otherwise one
  // whole-input task reads every partition, and only one instance can
  // compute the numbers, unless the pipeline re-keys (EnableRekey).
  static bool PerPartitionTasks(const DaemonConfig& config);

  // The repartition topic of `field_path` for consumer group `group_id`:
  // "<group_id>-rekey-<field_path>", any character a Kafka topic name
  // cannot hold made '_'.
  static std::string RekeyTopicName(absl::string_view group_id, absl::string_view field_path);

  // Runs one task per partition even though some metrics need their events
  // keyed by another field (RekeyFields): the tasks of the input partitions
  // compute the metrics the messages' key partitions, and send each event
  // they apply that another field's metrics may count, as a RekeyRecord
  // keyed by that field, to the field's repartition topic
  // (RekeyTopicName); the tasks of its partitions compute those metrics.
  // The records go out with each checkpoint, in its changelog transaction,
  // so a changelog is required. Returns the repartition topics, one per
  // field. FailedPrecondition if some metric cannot be re-keyed by one
  // field or an input topic's name looks like a repartition topic's. Call
  // once, after Create() and before LoadState().
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> EnableRekey(absl::string_view group_id);

  // Sets the partition count of repartition topic `topic`, as the cluster
  // has it: records are spread over its partitions by their key's hash.
  // Call for each before the first message is processed, lanes idle.
  void SetRekeyPartitions(const std::string& topic, int partitions);

  // Sets the input partitions whose events the repartition topics carry:
  // every one is a source of every repartition task from its start, so its
  // windows wait for each before they expire (an origin first seen late
  // would find them gone). Call before the first message is processed,
  // lanes idle.
  void SetRekeyOrigins(const std::vector<TopicPartitionId>& inputs);

  // The repartition topics (EnableRekey); empty if none.
  std::vector<std::string> rekey_topics() const;

  // Tells the whole-input task's engine which partitions hold back the
  // expiry of old windows: `partitions` lists (topic, partition, idle);
  // idle ones do not. With `others_idle` (a full new assignment), sources
  // not listed — a replay's in a bootstrapped state dir — stop holding it
  // back, except partitions of `held_topics` (the consumed topics: a
  // partition not assigned now can come back with its backlog), which keep
  // their state. Tasks of one partition need none of this.
  void UpdateSources(const std::vector<std::tuple<std::string, PartitionId, bool>>& partitions,
                     bool others_idle, const std::vector<std::string>& held_topics = {});

  // Decodes one message at `offset` of topic/partition and applies it; `key`
  // (the Kafka message key, if any) only goes to the reject sink. A decoded
  // event is held back until the next Process() or Flush(): it is applied
  // after the next message has been decoded and the engine told to prefetch
  // the memory that next event needs (Engine::Prefetch), which overlaps a
  // cache miss per event with useful work.
  void Process(absl::string_view topic, PartitionId partition, KafkaOffset offset,
               absl::string_view payload, absl::string_view key = {});

  // Processes each message of `batch` in order as Process() would, with the
  // outcome of decoding that the batch holds (DecodedBatch::Decode() must
  // have run, e.g. on another thread), and flushes: the batch may be reused
  // once this returns. Each event's dedup slot is prefetched several events
  // ahead (Engine::PrefetchId), the rest of its state one event ahead.
  void ProcessBatch(const DecodedBatch& batch);

  // Replaces the lanes by `lanes` (>= 1) empty ones, each with its own
  // decoders and counts (the counts so far stay in the sum): lane i applies
  // the messages of the tasks that LaneOf() gives i. Call before messages
  // are processed on lanes, with every lane idle.
  void SetLanes(int lanes);
  int lanes() const { return static_cast<int>(lanes_.size()); }

  // The lane that applies messages of topic/partition: a function of the
  // task only, so one task's messages stay in order on one lane. The
  // whole-input task is on lane 0; tasks of one partition on lane
  // (hash(topic) + partition) % lanes(), so a topic's partitions go round
  // the lanes. Safe while lanes run.
  int LaneOf(absl::string_view topic, PartitionId partition) const;

  // True if ProcessLaneBatch() can take messages of topic/partition: its
  // task is loaded and owned and its offset is tracked. Safe while lanes run
  // (it only reads what changes while every lane is idle).
  bool Routed(absl::string_view topic, PartitionId partition) const;

  // Makes Routed(topic, partition) true: loads the task if needed (as
  // Process() would; if its state cannot be loaded, the error is logged and
  // the lanes skip its messages, which are read again after a restart).
  // Every lane must be idle.
  void EnsureRoute(absl::string_view topic, PartitionId partition);

  // On an applying thread: decodes `batch` with lane `lane`'s decoder, then
  // processes it as ProcessBatch() does, every message of it being of a task
  // on that lane that is Routed(); afterwards publishes the lane's counts
  // for ReportLaneCounts(). Messages of tasks not routed are skipped (their
  // offsets do not advance).
  void ProcessLaneBatch(int lane, DecodedBatch* batch);
  // ProcessLaneBatch() in two steps, for a lane whose batches are decoded
  // on one thread ahead of the thread that applies them: DecodeLaneBatch()
  // uses only the lane's decoders, ApplyLaneBatch() everything else, so the
  // two may run at once on different batches of the lane.
  void DecodeLaneBatch(int lane, DecodedBatch* batch);
  void ApplyLaneBatch(int lane, const DecodedBatch& batch);

  // A decoder for the current event format and fields, for decoding ahead
  // of ProcessBatch() on another thread; Reload() may change both, so make
  // a new one after it.
  std::unique_ptr<EventDecoder> NewDecoder() const;

  // Applies the event Process() holds back, if any: afterwards the engine
  // and counts() reflect every message processed. ReportCounts() and the
  // checkpoints call it; call it before reading engine() directly.
  void Flush();

  // Flushes, then adds the counts since the last call to the probe's
  // counters (nsmd_events_*_total). Process() only counts, so the hot path
  // touches no shared counter: call this after each batch of messages.
  void ReportCounts();

  // Adds to the probe's counters the counts each lane published at the end
  // of its last ProcessLaneBatch() since the last report. Safe while lanes
  // run.
  void ReportLaneCounts();

  // Persists every engine change and the next offsets since the last
  // checkpoint, atomically, and waits for it (and first for a write still in
  // flight). On error nothing is lost: the changes stay pending and the next
  // checkpoint retries them.
  [[nodiscard]] absl::Status Checkpoint();

  // The same without waiting: takes the engine's changes and the next
  // offsets now and hands them to a background thread that writes them
  // (CheckpointWriter), while Process() goes on. Requires
  // !checkpoint_in_flight(). With nothing to write it succeeds at once and
  // nothing is in flight afterwards.
  void StartCheckpoint();

  // The outcome of the write StartCheckpoint() started, once it is done (at
  // once, or with `wait` after waiting for it): OK when the batch is durable
  // (then CheckpointedOffset() and checkpointed_offsets() include it), or
  // the store's error, in which case its changes are pending again for the
  // next checkpoint. Nullopt while it is still being written, or if no write
  // is in flight.
  [[nodiscard]] std::optional<absl::Status> FinishCheckpoint(bool wait);

  // True from StartCheckpoint() until FinishCheckpoint() has returned.
  bool checkpoint_in_flight() const;

  // The offsets written by the last successful checkpoint that wrote a batch
  // (what the state reflects: to commit to Kafka for lag tools).
  const std::vector<SourceOffset>& checkpointed_offsets() const { return checkpointed_offsets_; }

  // The checkpointed next offset of topic/partition; nullopt if none.
  std::optional<KafkaOffset> CheckpointedOffset(absl::string_view topic,
                                                PartitionId partition) const;

  // The next offset after the last message processed from topic/partition
  // (checkpointed or not); nullopt if none ever was.
  std::optional<KafkaOffset> NextOffset(absl::string_view topic, PartitionId partition) const;

  // The next offsets of every partition processed so far (committed or not).
  std::vector<SourceOffset> NextOffsets() const;

  // Replaces the metric definitions (SIGHUP): metrics whose fingerprint is
  // unchanged keep their state; others start empty. Checkpoints first.
  [[nodiscard]] absl::Status Reload(const DaemonConfig& config);

  // Every rejected message is also handed to `sink` (none by default).
  void set_reject_sink(RejectSink sink) { reject_sink_ = std::move(sink); }

  // The current and previous value of every series over the owned tasks,
  // all read at the newest stream time of any of them (so every task shows
  // the same windows), summed (SeriesMerge).
  MetricsSnapshot Snapshot() const;

  // Every window still held by the owned tasks, summed across them, in
  // Engine::AllWindows() order.
  std::vector<SeriesSample> AllWindows() const;

  // The counts of the owned tasks, added up: each task's since its state
  // began, wherever it was processed (they move with the task), so the
  // instances that split the partitions add up to one instance's counts.
  EventCounts OwnedTaskCounts() const;

  // The newest stream time over the owned tasks; the epoch before any
  // event.
  EventTime stream_time() const;

  // With true, windows never expire (Engine::set_retain_all_windows), in
  // every task now and later: for bounded inputs (replay) only.
  void set_retain_all_windows(bool retain);

  // True if the pipeline runs one task per partition (PerPartitionTasks()).
  bool per_partition_tasks() const { return per_partition_; }
  const std::vector<MetricDefinition>& metrics() const { return metrics_; }
  const EngineOptions& engine_options() const { return engine_options_; }
  // Counts over every lane (every lane idle).
  Counts counts() const;
  // Wall time of the last successful checkpoint, including one that found
  // nothing to write; InfinitePast if none.
  absl::Time last_checkpoint() const { return last_checkpoint_; }
  // How many checkpoints wrote a batch to the store (nothing-to-write ones
  // are not counted).
  uint64_t checkpoints_written() const { return checkpoints_written_; }

 private:
  // What one applying thread changes (pipeline.cc): decoders, the event held
  // back, the current partition, counts. Lane 0 is also Process()'s.
  struct Lane;

  Pipeline(StateStore* store, PipelineProbe* probe);
  static std::string PartitionName(absl::string_view topic, PartitionId partition);
  // The task that processes messages of topic/partition.
  TopicPartitionId TaskIdOf(absl::string_view topic, PartitionId partition) const;
  // Sets the decoders' format and options from `config` and (re)creates
  // every lane's decoders.
  void MakeDecoders(const DaemonConfig& config);
  // The task of topic/partition, loaded (and owned from now on) if there is
  // none yet: replays and tests assign nothing and simply send. Null, with
  // the error logged, if its state cannot be loaded.
  PartitionTask* TaskFor(absl::string_view topic, PartitionId partition);
  // Loads the task of `id` and deletes its stale rows.
  absl::StatusOr<std::unique_ptr<PartitionTask>> LoadTask(const TopicPartitionId& id);
  // Counts a message of topic/partition on `lane` and moves its next offset
  // past `offset`; returns the partition's task (null if it could not be
  // loaded, or with !may_load (an applying thread) if it is not Routed():
  // the message is then skipped, its offset not advanced, nothing shared
  // changed).
  PartitionTask* Advance(Lane& lane, absl::string_view topic, PartitionId partition,
                         KafkaOffset offset, bool may_load);
  // Counts, logs and hands to the reject sink a message that did not decode.
  void Reject(Lane& lane, PartitionTask* task, RejectReason reason, const absl::Status& error,
              absl::string_view topic, PartitionId partition, KafkaOffset offset,
              absl::string_view key, absl::string_view payload);
  // Prefetches `event`'s state, applies the event the lane held back, and
  // holds `event` (of source `source` in the task, read at `offset`) back
  // in its place (it must stay valid until the lane's next Hold() or
  // Flush()).
  void Hold(Lane& lane, const Event& event, PartitionTask* task, int source, KafkaOffset offset);
  // Applies the event the lane holds back, if any.
  void Flush(Lane& lane);
  // ProcessBatch() on `lane`.
  void ProcessBatch(Lane& lane, const DecodedBatch& batch, bool may_load);
  // Forgets every lane's cached partition (tasks_ or next_offsets_ changed).
  void ResetCurrent();
  // True if some offset advanced since the last checkpoint took them; moves
  // the lanes' flags into offsets_dirty_.
  bool OffsetsDirty();
  void LogRejection(RejectReason reason, const absl::Status& status, absl::string_view topic,
                    PartitionId partition, KafkaOffset offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reject_mu_);
  // Frees the tasks revoked since, once nothing of theirs is pending.
  void DropRevokedTasks();
  // Restores the task of `id` from the changelog into the store and takes
  // the offset it restored as the partition's checkpoint.
  absl::Status RestoreTask(const TopicPartitionId& id);

  StateStore* store_;
  PipelineProbe* probe_;
  // Owns store_ while a checkpoint is in flight (see CheckpointWriter).
  std::unique_ptr<CheckpointWriter> writer_;
  TaskChangelog* changelog_ = nullptr;
  RejectSink reject_sink_;
  EventFormat format_;
  EventDecoderOptions decoder_options_;
  struct HeldEvent {
    const Event* event = nullptr;  // null: none held
    PartitionTask* task = nullptr;
    int source = -1;
    KafkaOffset offset;    // of the message in its partition
    bool rekeyed = false;  // of a repartition topic (CurrentPartition::rekeyed)
  };
  // The metrics one repartition topic's tasks compute (EnableRekey).
  struct RekeyRoute {
    std::string topic;
    FieldId field = kNoField;  // the records' key
    int partitions = 0;
    // The event names its metrics' filters and cohort anchors accept;
    // any_name: some accepts every name.
    absl::flat_hash_set<std::string> names;
    bool any_name = false;
  };
  // Builds routes_ for `metrics` (one per RekeyFields() field), keeping
  // the partition counts of routes that stay.
  absl::Status MakeRoutes(const std::vector<MetricDefinition>& metrics,
                          const FieldCatalog& catalog);
  // The route whose repartition topic is `topic`; null for an input topic.
  const RekeyRoute* RouteOf(absl::string_view topic) const;
  // The metrics the task of `id` computes of `metrics` (whose fields
  // `catalog` names): every one without re-keying; with it, a repartition
  // topic's task those partitioned by its field, an input partition's task
  // those the messages' key partitions (ratios in neither: SeriesMerge
  // computes them from the summed operands).
  std::vector<MetricDefinition> MetricsOf(const TopicPartitionId& id,
                                          const std::vector<MetricDefinition>& metrics,
                                          const FieldCatalog& catalog) const;
  // Makes every input partition (SetRekeyOrigins) a source of `task` if it
  // is a repartition topic's.
  void RegisterOrigins(PartitionTask* task) const;
  // Sends `held` (an event an input task applied) to every route whose
  // metrics may count it: into the lane's outbox.
  void Route(Lane& lane, const HeldEvent& held);
  // Moves the records of every lane's outbox after those of
  // rekey_retry_ into one batch per repartition partition.
  std::vector<ChangelogProducer::PartitionRecords> TakeRekeyed();
  std::vector<MetricDefinition> metrics_;
  std::string key_field_;     // kafka.key_field
  std::string group_id_;      // kafka.group_id, once re-keying
  std::string rekey_prefix_;  // RekeyTopicName(group_id_, ""); empty: no re-keying
  std::vector<RekeyRoute> routes_;
  std::vector<std::string> rekey_origins_;  // "<topic>/<partition>" of every input
  // Records of a failed checkpoint, sent again (first) by the next one.
  std::vector<ChangelogProducer::PartitionRecords> rekey_retry_;
  EngineOptions engine_options_;
  bool retain_all_windows_ = false;
  bool per_partition_ = true;  // see PerPartitionTasks()
  std::shared_ptr<FieldCatalog> catalog_;
  StateDelta delta_;  // changes taken from the tasks not yet committed
  // Every task in memory by "<topic>/<partition>": owned ones, and revoked
  // ones until DropRevokedTasks() frees them.
  absl::flat_hash_map<std::string, std::unique_ptr<PartitionTask>> tasks_;
  absl::flat_hash_set<std::string> owned_;
  // Node-stable: current_ points into it.
  absl::node_hash_map<std::string, SourceOffset> next_offsets_;
  // The partition of a lane's previous message (consecutive messages mostly
  // come from one partition's fetch): saves building its name and two
  // lookups per message. Reset whenever tasks_ changes.
  struct CurrentPartition {
    std::string topic;
    std::optional<PartitionId> partition;  // none: no previous message
    SourceOffset* next = nullptr;
    PartitionTask* task = nullptr;
    int source = -1;       // the partition's index in the task's engine
    bool rekeyed = false;  // a repartition topic's: origins are its sources
  };
  std::vector<std::unique_ptr<Lane>> lanes_;
  absl::flat_hash_map<std::string, KafkaOffset> checkpointed_;
  std::vector<SourceOffset> checkpointed_offsets_;
  bool offsets_dirty_ = false;
  Counts reported_;  // the lanes' published counts at the last report
  absl::Time last_checkpoint_ = absl::InfinitePast();
  uint64_t checkpoints_written_ = 0;
  // Rejections come from every lane.
  absl::Mutex reject_mu_;
  absl::Time last_reject_log_ ABSL_GUARDED_BY(reject_mu_) = absl::InfinitePast();
  uint64_t rejects_since_log_ ABSL_GUARDED_BY(reject_mu_) = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_PIPELINE_H_
