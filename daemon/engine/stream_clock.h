// StreamClock: event-time progress of each source and the lateness rule.
#ifndef NSMD_DAEMON_ENGINE_STREAM_CLOCK_H_
#define NSMD_DAEMON_ENGINE_STREAM_CLOCK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// Tracks, per source (a Kafka partition, a replay file), the newest event time
// it has delivered. An event older than its source's stream time minus the
// allowed lateness is late. Stream times persist (keys "s/<source>") so the
// lateness decisions after a restart are the ones before it. Thread-compatible.
class StreamClock {
 public:
  explicit StreamClock(absl::Duration allowed_lateness)
      : lateness_ms_(absl::ToInt64Milliseconds(allowed_lateness)) {}

  // Index of source `name`, registering it on first use.
  int Register(absl::string_view name);

  // If `time` is late for `source` returns true and changes nothing;
  // otherwise advances the source's stream time to at least `time`.
  bool ObserveOrLate(int source, EventTime time);

  // The newest stream time over all sources; the epoch before any event.
  EventTime now() const { return now_; }

  // Marks `source` idle (caught up, or not read by this instance) or active.
  // Sources start active.
  void SetIdle(int source, bool idle) { sources_[source].idle = idle; }

  // Marks the sources named in `active_idle` as given there (registering
  // them); with `others_idle`, every other source idle too, except those
  // whose name starts with one of `held_prefixes`: they keep their state.
  void SetActivity(const absl::flat_hash_map<std::string, bool>& active_idle, bool others_idle,
                   const std::vector<std::string>& held_prefixes = {});

  // The oldest event time any source can still apply: min over active
  // sources of (stream time - lateness); the epoch (nothing can expire)
  // while an active source has delivered nothing yet, since its backlog may
  // hold any time. With every source idle: newest stream time - lateness.
  // Windows ending at or before it can no longer change.
  EventTime horizon() const;

  // Restores a source's stream time from its persisted row.
  [[nodiscard]] absl::Status Restore(absl::string_view key, absl::string_view value);

  // Writes the stream times changed since the last call.
  void TakeDelta(StateDelta* delta);

 private:
  struct Source {
    std::string name;
    EventTime time{};  // the epoch until it delivers an event
    bool dirty = false;
    bool idle = false;
  };
  int64_t lateness_ms_;
  EventTime now_;
  std::vector<Source> sources_;
  absl::flat_hash_map<std::string, int> index_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_STREAM_CLOCK_H_
