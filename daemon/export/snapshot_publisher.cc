#include "daemon/export/snapshot_publisher.h"

#include <utility>

namespace nsmd {

SnapshotPublisher::SnapshotPublisher()
    : snapshot_(std::make_shared<const MetricsSnapshot>()),
      definitions_(std::make_shared<const std::vector<MetricDefinition>>()) {}

void SnapshotPublisher::Publish(std::shared_ptr<const MetricsSnapshot> snapshot) {
  if (snapshot == nullptr) snapshot = std::make_shared<const MetricsSnapshot>();
  // Swap under the lock, release the old snapshot outside it: the last
  // reference may be the biggest object in the process.
  std::shared_ptr<const MetricsSnapshot> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(snapshot_, std::move(snapshot));
  }
}

std::shared_ptr<const MetricsSnapshot> SnapshotPublisher::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void SnapshotPublisher::SetDefinitions(
    std::shared_ptr<const std::vector<MetricDefinition>> definitions) {
  if (definitions == nullptr) {
    definitions = std::make_shared<const std::vector<MetricDefinition>>();
  }
  std::shared_ptr<const std::vector<MetricDefinition>> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(definitions_, std::move(definitions));
  }
}

std::shared_ptr<const std::vector<MetricDefinition>> SnapshotPublisher::definitions() const {
  absl::MutexLock lock(&mu_);
  return definitions_;
}

}  // namespace nsmd
