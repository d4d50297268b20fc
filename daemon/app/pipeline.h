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
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/base/source_offset.h"
#include "daemon/config/daemon_config.h"
#include "daemon/decode/decoded_batch.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/reject_reason.h"
#include "daemon/engine/engine.h"
#include "daemon/state/state_store.h"

namespace nsmd {

class CheckpointWriter;
class PipelineProbe;

// The stages every message goes through, whatever its source (a Kafka
// partition or a replayed file): decode, apply to the engine, remember the
// next offset; and the checkpoint that persists engine changes and offsets in
// one atomic StateStore commit, written on a background thread. The
// source-specific loop (Kafka, file) drives it. Not thread-safe: one thread
// owns it.
class Pipeline {
 public:
  // Counts since start, by outcome.
  struct Counts {
    uint64_t consumed = 0;
    uint64_t applied = 0;
    uint64_t late = 0;
    uint64_t duplicate = 0;
    std::array<uint64_t, kAllRejectReasons.size()> rejected{};
    uint64_t rejected_total() const;
  };

  // Receives each rejected message (e.g. to produce it to a dead-letter
  // topic): its source position, original key and bytes, reason and error.
  using RejectSink = std::function<void(absl::string_view topic, int32_t partition, int64_t offset,
                                        absl::string_view key, absl::string_view payload,
                                        RejectReason reason, const absl::Status& error)>;

  // Builds the decoder and engine for `config`. `store` (owned by the
  // caller, outliving the pipeline) holds state and offsets. `probe` may be
  // null (no self-metrics).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Pipeline>> Create(const DaemonConfig& config,
                                                                        StateStore* store,
                                                                        PipelineProbe* probe);
  ~Pipeline();

  // Loads engine state and checkpointed offsets from the store; deletes the
  // state of metrics that no longer exist or whose definition changed (and
  // logs each). Call once, before the first Process().
  [[nodiscard]] absl::Status LoadState();

  // Tells the engine which partitions hold back the expiry of old windows:
  // `partitions` lists (topic, partition, idle); idle ones do not. With
  // `others_idle` (a full new assignment), sources not listed — a replay's
  // in a bootstrapped state dir — stop holding it back, except partitions
  // of `held_topics` (the consumed topics: a partition not assigned now
  // can come back with its backlog), which keep their state.
  void UpdateSources(const std::vector<std::tuple<std::string, int32_t, bool>>& partitions,
                     bool others_idle, const std::vector<std::string>& held_topics = {});

  // Decodes one message at `offset` of topic/partition and applies it; `key`
  // (the Kafka message key, if any) only goes to the reject sink. A decoded
  // event is held back until the next Process() or Flush(): it is applied
  // after the next message has been decoded and the engine told to prefetch
  // the memory that next event needs (Engine::Prefetch), which overlaps a
  // cache miss per event with useful work.
  void Process(absl::string_view topic, int32_t partition, int64_t offset,
               absl::string_view payload, absl::string_view key = {});

  // Processes each message of `batch` in order as Process() would, with the
  // outcome of decoding that the batch holds (DecodedBatch::Decode() must
  // have run, e.g. on a DecodeWorker), and flushes: the batch may be reused
  // once this returns. Each event's dedup slot is prefetched several events
  // ahead (Engine::PrefetchId), the rest of its state one event ahead.
  void ProcessBatch(const DecodedBatch& batch);

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
  std::optional<int64_t> CheckpointedOffset(absl::string_view topic, int32_t partition) const;

  // The next offset after the last message processed from topic/partition
  // (checkpointed or not); nullopt if none ever was.
  std::optional<int64_t> NextOffset(absl::string_view topic, int32_t partition) const;

  // The next offsets of every partition processed so far (committed or not).
  std::vector<SourceOffset> NextOffsets() const;

  // Replaces the metric definitions (SIGHUP): metrics whose fingerprint is
  // unchanged keep their state; others start empty. Checkpoints first.
  [[nodiscard]] absl::Status Reload(const DaemonConfig& config);

  // Every rejected message is also handed to `sink` (none by default).
  void set_reject_sink(RejectSink sink) { reject_sink_ = std::move(sink); }

  const Engine& engine() const { return *engine_; }
  Engine& mutable_engine() { return *engine_; }
  const Counts& counts() const { return counts_; }
  // Wall time of the last successful checkpoint, including one that found
  // nothing to write; InfinitePast if none.
  absl::Time last_checkpoint() const { return last_checkpoint_; }
  // How many checkpoints wrote a batch to the store (nothing-to-write ones
  // are not counted).
  uint64_t checkpoints_written() const { return checkpoints_written_; }

 private:
  Pipeline(StateStore* store, PipelineProbe* probe);
  int SourceIndex(absl::string_view topic, int32_t partition);
  static std::string PartitionName(absl::string_view topic, int32_t partition);
  // (Re)creates decoders_ for `config`'s format and catalog_.
  void MakeDecoders(const DaemonConfig& config);
  // Counts a message of topic/partition and moves its next offset past
  // `offset`; returns the engine's index of the partition.
  int Advance(absl::string_view topic, int32_t partition, int64_t offset);
  // Counts, logs and hands to the reject sink a message that did not decode.
  void Reject(RejectReason reason, const absl::Status& error, absl::string_view topic,
              int32_t partition, int64_t offset, absl::string_view key, absl::string_view payload);
  // Prefetches `event`'s state, applies the event held back, and holds
  // `event` back in its place (it must stay valid until the next Hold() or
  // Flush()).
  void Hold(const Event& event, int source);
  void LogRejection(RejectReason reason, const absl::Status& status, absl::string_view topic,
                    int32_t partition, int64_t offset);

  StateStore* store_;
  PipelineProbe* probe_;
  // Owns store_ while a checkpoint is in flight (see CheckpointWriter).
  std::unique_ptr<CheckpointWriter> writer_;
  RejectSink reject_sink_;
  // Two decoders, used in turn: the event Process() holds back stays valid
  // (it points into its decoder's buffers) while the next one is decoded.
  std::array<std::unique_ptr<EventDecoder>, 2> decoders_;
  int next_decoder_ = 0;
  EventFormat format_;
  EventDecoderOptions decoder_options_;
  struct HeldEvent {
    const Event* event = nullptr;  // null: none held
    int source = -1;
  };
  HeldEvent held_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<FieldCatalog> catalog_;
  StateDelta delta_;  // changes taken from the engine not yet committed
  absl::flat_hash_map<std::string, int> sources_;
  // Node-stable: current_ points into it.
  absl::node_hash_map<std::string, SourceOffset> next_offsets_;
  // The partition of the previous message (consecutive messages mostly come
  // from one partition's fetch): saves building its name and two lookups
  // per message. Reset whenever sources_ is.
  struct CurrentPartition {
    std::string topic;
    int32_t partition = -1;
    SourceOffset* next = nullptr;
    int source = -1;
  };
  CurrentPartition current_;
  absl::flat_hash_map<std::string, int64_t> checkpointed_;
  std::vector<SourceOffset> checkpointed_offsets_;
  bool offsets_dirty_ = false;
  Counts counts_;
  Counts reported_;  // counts_ at the last ReportCounts()
  absl::Time last_checkpoint_ = absl::InfinitePast();
  uint64_t checkpoints_written_ = 0;
  absl::Time last_reject_log_ = absl::InfinitePast();
  uint64_t rejects_since_log_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_PIPELINE_H_
