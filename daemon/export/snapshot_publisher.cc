#include "daemon/export/snapshot_publisher.h"

#include <utility>

namespace nsmd {

SnapshotPublisher::SnapshotPublisher()
    : published_{std::make_shared<const std::vector<MetricDefinition>>(),
                 std::make_shared<const MetricsSnapshot>()} {}

void SnapshotPublisher::Publish(std::shared_ptr<const std::vector<MetricDefinition>> definitions,
                                std::shared_ptr<const MetricsSnapshot> snapshot) {
  PublishedMetrics next{std::move(definitions), std::move(snapshot)};
  if (next.definitions == nullptr) {
    next.definitions = std::make_shared<const std::vector<MetricDefinition>>();
  }
  if (next.snapshot == nullptr) next.snapshot = std::make_shared<const MetricsSnapshot>();
  // Swap under the lock, release the old pair outside it: the last
  // reference may be the biggest object in the process.
  {
    absl::MutexLock lock(&mu_);
    std::swap(published_, next);
  }
}

PublishedMetrics SnapshotPublisher::published() const {
  absl::MutexLock lock(&mu_);
  return published_;
}

}  // namespace nsmd
