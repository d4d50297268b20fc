// Daemon: what the HTTP endpoints read (readiness, status, snapshots).
#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/time/clock.h"
#include "daemon/app/daemon.h"
#include "daemon/app/status_json.h"
#include "daemon/export/nsm_collectable.h"

namespace nsmd {

HttpServer::Handlers Daemon::Handlers() {
  HttpServer::Handlers handlers;
  handlers.collectables = {probe_.registry(), std::make_shared<NsmCollectable>(publisher_)};
  handlers.ready = [this](std::string* reason) { return Ready(reason); };
  handlers.status_json = [this] {
    absl::MutexLock lock(&status_mu_);
    return status_json_;
  };
  handlers.metrics_json = [this] {
    const PublishedMetrics published = publisher_->published();
    return MetricsJson(*published.definitions, *published.snapshot);
  };
  handlers.status_page = [this] {
    DaemonHealth health;
    {
      absl::MutexLock lock(&status_mu_);
      health = health_;
    }
    health.ready = Ready(&health.not_ready_reason);
    const PublishedMetrics published = publisher_->published();
    return RenderStatusPage(*published.definitions, *published.snapshot, health, absl::Now());
  };
  if (reload_endpoint_) {
    handlers.reload = [this] {
      return reloads_.RequestAndWait([this] { signals_.reload_requested = true; });
    };
  }
  return handlers;
}

bool Daemon::Ready(std::string* reason) const {
  if (!state_loaded_) {
    *reason = "state not loaded";
    return false;
  }
  if (checkpoint_failing_) {
    *reason = "state store writes failing; consumption paused";
    return false;
  }
  if (!source_ || !source_->Connected()) {
    *reason = "not connected to Kafka";
    return false;
  }
  if (source_->Assignment().empty()) {
    *reason = "no partitions assigned";
    return false;
  }
  return true;
}

void Daemon::Publish() {
  auto snapshot = std::make_shared<const MetricsSnapshot>(pipeline_->Snapshot());
  probe_.SetStreamTime(snapshot->stream_time);
  probe_.SetOwnedTasks(pipeline_->OwnedTasks());
  probe_.SetOwnedTaskCounts(pipeline_->OwnedTaskCounts());
  publisher_->Publish(definitions_, snapshot);
  std::vector<TopicPartitionId> assignment;
  DaemonHealth health;
  if (source_) {
    const std::vector<std::pair<TopicPartitionId, int64_t>> lag = source_->Lag();
    probe_.SetLag(lag);
    for (const auto& [tp, behind] : lag) {
      if (behind >= 0) health.consumer_lag = std::max<int64_t>(health.consumer_lag, 0) + behind;
    }
    assignment = source_->Assignment();
    // An assigned partition holds back window expiry from the moment it is
    // assigned (its backlog may hold old events), except one that has held
    // no message at all so far. A caught-up partition with history keeps
    // holding it at its own stream time: under live traffic "caught up" is
    // momentary, and its next events may be older than other partitions'.
    // Lag counts polled messages as read, so "empty" also needs the source
    // to have read nothing of it: its messages may wait in a batch in flight.
    const std::vector<TopicPartitionId> unread = source_->Unread();
    std::vector<std::tuple<std::string, PartitionId, bool>> activity;
    for (const auto& [tp, behind] : lag) {
      const bool empty = behind == 0 && absl::c_linear_search(unread, tp);
      activity.emplace_back(tp.topic, tp.partition, empty);
    }
    pipeline_->UpdateSources(activity, /*others_idle=*/false);
  }
  std::string json = StatusJson(config_, *pipeline_, assignment, snapshot->stream_time);
  const Pipeline::Counts& counts = pipeline_->counts();
  health.consumed = counts.consumed;
  health.applied = counts.applied;
  health.rejected = counts.rejected_total();
  health.late = counts.late;
  health.duplicate = counts.duplicate;
  absl::MutexLock lock(&status_mu_);
  status_json_ = std::move(json);
  health_ = std::move(health);
}

}  // namespace nsmd
