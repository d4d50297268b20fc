// PipelineProbe: nsmd's own operational metrics (nsmd_*), fed by the
// pipeline and served on /metrics.
#ifndef NSMD_DAEMON_EXPORT_PIPELINE_PROBE_H_
#define NSMD_DAEMON_EXPORT_PIPELINE_PROBE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/decode/event_counts.h"
#include "daemon/decode/reject_reason.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nsmd {

// Owns a prometheus::Registry holding nsmd's self-metrics and offers one cheap
// method per pipeline happening. Every series is created in the constructor
// (all rejection reasons at 0), so the per-event methods only add to an
// atomic through a held reference: no lookup, no allocation, no lock.
//
// Series (all names exact):
//   nsmd_events_consumed_total, nsmd_events_applied_total,
//   nsmd_events_rejected_total{reason}, nsmd_events_late_total,
//   nsmd_events_duplicate_total, nsmd_events_dead_lettered_total,
//   nsmd_consumer_lag{topic,partition}, nsmd_stream_time_seconds,
//   nsmd_checkpoint_duration_seconds (histogram), nsmd_checkpoint_keys,
//   nsmd_checkpoint_failures_total, nsmd_last_checkpoint_timestamp_seconds,
//   nsmd_build_info{version}, nsmd_config_last_reload_successful,
//   nsmd_config_last_reload_success_timestamp_seconds, nsmd_ready,
//   nsmd_task_restore_rows_total, nsmd_task_restore_seconds (histogram).
//
// Thread-safe: every method may be called from any thread, concurrently with
// scrapes of registry(). The registry is shared with whoever serves it.
class PipelineProbe {
 public:
  // Returns the wall-clock time; injected so tests control timestamps.
  using Clock = std::function<absl::Time()>;

  // Uses absl::Now() for the timestamp gauges.
  PipelineProbe();

  // Uses `clock` (not null) for the timestamp gauges. The construction
  // counts as the initial successful config load: the reload-success
  // timestamp starts at clock() and nsmd_config_last_reload_successful at 1.
  explicit PipelineProbe(Clock clock);

  PipelineProbe(const PipelineProbe&) = delete;
  PipelineProbe& operator=(const PipelineProbe&) = delete;

  // `n` messages were taken from the source (decoded or not).
  void OnConsumed(uint64_t n);

  // `n` messages were rejected by the decoder for `reason`.
  void OnRejected(RejectReason reason, uint64_t n = 1);

  // `n` events were applied to the engine.
  void OnApplied(uint64_t n = 1);

  // `n` events were older than their source's stream time minus the allowed
  // lateness, and were not applied.
  void OnLate(uint64_t n = 1);

  // `n` events were dropped as duplicate ids.
  void OnDuplicate(uint64_t n = 1);

  // One message was written to the dead-letter topic.
  void OnDeadLettered();

  // A checkpoint wrote `keys` state keys and took `duration`: observes the
  // duration histogram, sets nsmd_checkpoint_keys and stamps
  // nsmd_last_checkpoint_timestamp_seconds with clock().
  void OnCheckpoint(absl::Duration duration, size_t keys);

  // A checkpoint found nothing to write (no state change, no new offset): it
  // succeeded all the same. Sets nsmd_checkpoint_keys to 0 and stamps
  // nsmd_last_checkpoint_timestamp_seconds with clock(); the duration
  // histogram observes only checkpoints that wrote.
  void OnCheckpointUnchanged();

  // A checkpoint failed; the timestamp and keys gauges keep their values.
  void OnCheckpointFailure();

  // An assigned task was restored from its changelog, writing `rows` rows
  // in `elapsed`: nsmd_task_restore_rows_total, nsmd_task_restore_seconds.
  void OnTaskRestored(uint64_t rows, absl::Duration elapsed);

  // Sets nsmd_stream_time_seconds to `time` in seconds since the epoch.
  void SetStreamTime(EventTime time);

  // Sets nsmd_consumer_lag for exactly the given partitions: series of
  // partitions missing from `lag` (no longer assigned) are removed. If a
  // partition appears twice, the last value wins.
  void SetLag(const std::vector<std::pair<TopicPartitionId, int64_t>>& lag);

  // Sets nsmd_task_owned to 1 for exactly the given tasks (a partition's,
  // or {"*", -1} for the whole-input task, shown as partition="*"): series
  // of tasks no longer owned are removed.
  void SetOwnedTasks(const std::vector<TopicPartitionId>& tasks);

  // Sets nsmd_owned_tasks_messages{outcome} and
  // nsmd_owned_tasks_messages_rejected{reason} to `counts`: the owned
  // tasks' counts since their state began, which move with the tasks (so
  // the instances of a group add up), unlike the nsmd_events_*_total
  // counters of this process.
  void SetOwnedTaskCounts(const EventCounts& counts);

  // A config reload finished: nsmd_config_last_reload_successful becomes
  // 1 or 0; on success the success timestamp is set to clock().
  void OnReload(bool ok);

  // Sets nsmd_ready to 1 or 0.
  void SetReady(bool ready);

  // The registry to serve on /metrics; never null.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  using PartitionKey = std::pair<std::string, PartitionId>;

  double NowSeconds() const;
  using PartitionGauges = absl::flat_hash_map<PartitionKey, prometheus::Gauge*>;
  // Sets one gauge of `family` per partition of `values` in *gauges (reused
  // or added), and removes those of partitions no longer listed.
  static void SyncPartitionGauges(prometheus::Family<prometheus::Gauge>& family,
                                  const std::vector<std::pair<TopicPartitionId, int64_t>>& values,
                                  PartitionGauges* gauges);

  // Constant after construction. The references point into registry_.
  const Clock clock_;
  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& consumed_;
  prometheus::Counter& applied_;
  prometheus::Counter& late_;
  prometheus::Counter& duplicate_;
  prometheus::Counter& dead_lettered_;
  prometheus::Counter& checkpoint_failures_;
  prometheus::Gauge& stream_time_;
  prometheus::Histogram& checkpoint_duration_;
  prometheus::Gauge& checkpoint_keys_;
  prometheus::Gauge& last_checkpoint_;
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_time_;
  prometheus::Gauge& ready_;
  prometheus::Family<prometheus::Gauge>& lag_family_;
  prometheus::Family<prometheus::Gauge>& owned_family_;
  prometheus::Counter& restore_rows_;
  prometheus::Histogram& restore_seconds_;
  // Indexed by static_cast<size_t>(RejectReason).
  std::array<prometheus::Counter*, kAllRejectReasons.size()> rejected_{};
  // nsmd_owned_tasks_messages: consumed, applied, late, duplicate.
  std::array<prometheus::Gauge*, 4> task_outcomes_{};
  // nsmd_owned_tasks_messages_rejected, indexed as rejected_.
  std::array<prometheus::Gauge*, kAllRejectReasons.size()> task_rejected_{};

  absl::Mutex gauges_mu_;
  PartitionGauges lag_ ABSL_GUARDED_BY(gauges_mu_);
  PartitionGauges owned_ ABSL_GUARDED_BY(gauges_mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_PIPELINE_PROBE_H_
