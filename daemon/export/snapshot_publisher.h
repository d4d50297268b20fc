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

// The metric definitions and the snapshot computed under them, published
// together: a reader never pairs definitions with a snapshot of others (e.g.
// new definitions after a reload with the old engine's numbers). Neither
// pointer is ever null.
struct PublishedMetrics {
  std::shared_ptr<const std::vector<MetricDefinition>> definitions;
  std::shared_ptr<const MetricsSnapshot> snapshot;
};

// Holds the latest PublishedMetrics. Both parts are immutable once published
// and shared by pointer, so a reader keeps a consistent pair for as long as
// it holds the pointers while the writer publishes newer ones; the mutex
// only guards the swap.
//
// Thread-safe: any thread may publish or read at any time.
//
// Example:
//   auto publisher = std::make_shared<SnapshotPublisher>();
//   publisher->Publish(definitions, std::make_shared<const MetricsSnapshot>(engine.Snapshot()));
//   // On an HTTP thread:
//   PublishedMetrics m = publisher->published();
class SnapshotPublisher {
 public:
  // Starts with an empty snapshot and an empty definition list.
  SnapshotPublisher();

  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // Replaces the definitions and the snapshot computed under them, as one
  // value. A null pointer publishes an empty list or snapshot.
  void Publish(std::shared_ptr<const std::vector<MetricDefinition>> definitions,
               std::shared_ptr<const MetricsSnapshot> snapshot);

  // The latest published pair (both empty before the first Publish).
  PublishedMetrics published() const;

 private:
  mutable absl::Mutex mu_;
  PublishedMetrics published_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_SNAPSHOT_PUBLISHER_H_
