// Engine: applies decoded events to every metric's windows.
#ifndef NSMD_DAEMON_ENGINE_ENGINE_H_
#define NSMD_DAEMON_ENGINE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"
#include "daemon/engine/name_match.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

class Calendar;
class DedupIndex;
class MetricState;
class StreamClock;

// The computing core of nsmd. Knows nothing of Kafka, files or HTTP: callers
// feed it decoded events tagged with a source (a partition), take the state
// changes to persist at each checkpoint, and read snapshots for export.
//
// Event time rules: each source's stream time is the newest event time it has
// delivered; an event older than its source's stream time minus the allowed
// lateness is late: counted, not applied. The engine-wide stream time (the
// max over sources) drives which window is "current" and expires old windows.
//
// Dedup: an event whose id was applied within the dedup horizon (of event
// time) is a duplicate: counted, not applied.
//
// Thread-compatible: one thread applies events; Snapshot() must be called on
// that thread too (the pipeline publishes copies to exporters).
class Engine {
 public:
  enum class Outcome {
    kApplied,    // matched at least one metric or advanced stream time
    kLate,       // older than stream time minus allowed lateness: not applied
    kDuplicate,  // id seen within the dedup horizon: not applied
  };

  // Builds an engine for `metrics` (already validated by the config loader:
  // unique names, ratio operands that exist).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Create(
      std::vector<MetricDefinition> metrics, EngineOptions options);
  ~Engine();

  // Returns the index of the source called `name` (e.g. "product-events/3"),
  // registering it on first use. Its stream time persists with the state.
  int RegisterSource(absl::string_view name);

  // Says which sources are idle: `active_idle` maps source names (registered
  // if new) to "idle"; with `others_idle` every source not named is idle too
  // (e.g. partitions no longer assigned), except sources whose name starts
  // with one of `held_prefixes`, which keep their state. Expiry waits for
  // active sources only, so a partition with a backlog it has not started
  // on keeps old windows open. Sources start active.
  void SetSourceActivity(const absl::flat_hash_map<std::string, bool>& active_idle,
                         bool others_idle, const std::vector<std::string>& held_prefixes = {});

  // Applies one event from source `source` (an index from RegisterSource).
  // An event older than the expiry horizon already applied (its windows may
  // be gone) is late, whatever its source's own stream time.
  Outcome Apply(const Event& event, int source);

  // Says that `event` is the next one to be applied: starts loading memory
  // its Apply() will touch (its member's, entity's and cohort anchor's
  // slots: MetricState::Prefetch), so that applying the event before it
  // overlaps those cache misses. Results do not depend on it.
  void Prefetch(const Event& event);

  // Starts loading `event`'s slot in the dedup table, which depends on
  // nothing but its id: callers that hold a batch do it several events ahead
  // (a random probe of a table of every id within the horizon takes longer
  // than applying one event). Results do not depend on it.
  void PrefetchId(const Event& event);

  // Restores one persisted key/value (as written through TakeDelta) when
  // loading state at start. Keys of metrics not in this engine's definitions
  // (removed, or changed since: another fingerprint) are skipped and their
  // metric prefixes collected in stale_prefixes(), so the caller can delete
  // them. Returns DataLoss on an undecodable row.
  [[nodiscard]] absl::Status Restore(absl::string_view key, absl::string_view value);

  // Completes a restore: the distinct members read by Restore() are
  // inserted in bulk now (into tables sized once, with prefetching), so
  // loading 10 million members does not rehash as it grows. Call after the
  // last Restore() and before Snapshot() or AllWindows(); Apply(), Expire()
  // and TakeDelta() call it themselves.
  void FinishRestore();

  // Metric key prefixes ("m/<name>/<fingerprint>/") seen by Restore that no
  // current definition owns.
  const std::vector<std::string>& stale_prefixes() const { return stale_prefixes_; }

  // Moves every state change since the previous call into *delta, including
  // deletions of expired windows. Call once per checkpoint.
  void TakeDelta(StateDelta* delta);

  // Expires windows that can no longer change or be shown (older than the
  // previous window, beyond allowed lateness). Called by TakeDelta too.
  void Expire();

  // The current and previous value of every series, plus stream time.
  MetricsSnapshot Snapshot() const;

  // The current and previous value of every non-ratio series as of stream
  // time `now` (which may be ahead of this engine's own, e.g. the newest of
  // several tasks: windows this engine has not reached yet read 0). Ratios
  // are left to the caller (SeriesMerge, AppendRatios).
  std::vector<SeriesSample> Samples(EventTime now) const;

  // Every window still held of every non-ratio series, unsorted, rolling
  // ones ending at stream time `now`; ratios are left to the caller.
  std::vector<SeriesSample> WindowSamples(EventTime now) const;

  // Every window the engine still holds, with its value, ordered by metric
  // then window start (history for `nsmd replay --series json`). Rolling
  // metrics contribute their one window ending at stream time.
  std::vector<SeriesSample> AllWindows() const;

  // With true, windows never expire, so AllWindows() is the full history.
  // For bounded inputs (replay) only: memory grows with the history.
  void set_retain_all_windows(bool retain) { retain_all_windows_ = retain; }

  // Engine-wide stream time; the epoch before the first event.
  EventTime stream_time() const;

  const std::vector<MetricDefinition>& metrics() const { return metrics_; }
  const EngineOptions& options() const { return options_; }

 private:
  Engine(std::vector<MetricDefinition> metrics, EngineOptions options);
  // Fills states_by_name_ and states_for_other_names_ from states_.
  void IndexStatesByEventName();

  std::vector<MetricDefinition> metrics_;
  EngineOptions options_;
  std::unique_ptr<StreamClock> clock_;
  std::unique_ptr<Calendar> calendar_;
  std::unique_ptr<DedupIndex> dedup_;
  // One per metric, same order as metrics_; null for ratio metrics.
  std::vector<std::unique_ptr<MetricState>> states_;
  // A state an event of some name may change, and which of its filters
  // accept that name.
  struct NamedState {
    MetricState* state;
    NameMatch names;
  };
  // The states an event may change, by its name, in metrics_ order: those
  // whose filter or cohort anchor accepts the name (names it, or names no
  // event). An event no filter names may change only the states of filters
  // that name no event (states_for_other_names_). One lookup per event
  // instead of every metric comparing the name against its filters.
  absl::flat_hash_map<std::string, std::vector<NamedState>> states_by_name_;
  std::vector<NamedState> states_for_other_names_;
  const std::vector<NamedState>& StatesFor(absl::string_view event_name) const {
    auto it = states_by_name_.find(event_name);
    return it == states_by_name_.end() ? states_for_other_names_ : it->second;
  }
  StateDelta pending_;
  std::vector<std::string> stale_prefixes_;
  bool retain_all_windows_ = false;
  bool restore_unfinished_ = false;  // Restore() since the last FinishRestore()
  // The horizon of the last Expire(): state older than it may be dropped.
  EventTime expire_floor_;
};

// Orders history samples by metric, then window start, then labels (stable:
// the order of equal ones is kept), as Engine::AllWindows() returns them.
void SortWindows(std::vector<SeriesSample>* samples);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_ENGINE_H_
