// SnapshotPublisher: the hand-off point between the pipeline thread, which
// produces MetricsSnapshots, and the HTTP threads, which read them.
#ifndef NSMD_DAEMON_EXPORT_SNAPSHOT_PUBLISHER_H_
#define NSMD_DAEMON_EXPORT_SNAPSHOT_PUBLISHER_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// Holds the latest published MetricsSnapshot and the metric definitions it
// belongs to. Both are immutable once published and shared by pointer, so a
// reader keeps a consistent copy for as long as it holds the shared_ptr while
// the writer publishes newer ones; the mutex only guards the pointer swap.
//
// Thread-safe: any thread may publish or read at any time.
//
// Example:
//   auto publisher = std::make_shared<SnapshotPublisher>();
//   publisher->Publish(std::make_shared<const MetricsSnapshot>(engine.Snapshot()));
//   // On an HTTP thread:
//   std::shared_ptr<const MetricsSnapshot> s = publisher->snapshot();
class SnapshotPublisher {
 public:
  // Starts with an empty snapshot and an empty definition list.
  SnapshotPublisher();

  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // Replaces the current snapshot. A null `snapshot` publishes an empty one
  // (so readers never see null).
  void Publish(std::shared_ptr<const MetricsSnapshot> snapshot);

  // The latest published snapshot; never null (empty before the first
  // Publish).
  std::shared_ptr<const MetricsSnapshot> snapshot() const;

  // Replaces the metric definitions (e.g. after a config reload). A null
  // `definitions` sets an empty list.
  void SetDefinitions(std::shared_ptr<const std::vector<MetricDefinition>> definitions);

  // The latest definitions; never null (empty before the first
  // SetDefinitions).
  std::shared_ptr<const std::vector<MetricDefinition>> definitions() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const MetricsSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::vector<MetricDefinition>> definitions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_SNAPSHOT_PUBLISHER_H_
