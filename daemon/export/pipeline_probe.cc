#include "daemon/export/pipeline_probe.h"

#include <string>

namespace nsmd {
namespace {

// The per-reason array is indexed by the enum value; that needs the list to
// be exactly 0, 1, 2, ...
constexpr bool RejectReasonsAreDense() {
  for (size_t i = 0; i < kAllRejectReasons.size(); ++i) {
    if (static_cast<size_t>(kAllRejectReasons[i]) != i) return false;
  }
  return true;
}
static_assert(RejectReasonsAreDense(), "kAllRejectReasons must list the enum in order");

// Registration only throws on invalid or duplicate names; the names below
// are constants, distinct and valid, so it cannot throw here.
prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PipelineProbe::PipelineProbe() : PipelineProbe([] { return absl::Now(); }) {}

PipelineProbe::PipelineProbe(Clock clock)
    : clock_(std::move(clock)),
      registry_(std::make_shared<prometheus::Registry>()),
      consumed_(NewCounter(*registry_, "nsmd_events_consumed_total",
                           "Messages taken from the event source, decoded or not.")),
      applied_(NewCounter(*registry_, "nsmd_events_applied_total",
                          "Events applied to the metric engine.")),
      late_(NewCounter(*registry_, "nsmd_events_late_total",
                       "Events older than stream time minus allowed lateness, not applied.")),
      duplicate_(NewCounter(*registry_, "nsmd_events_duplicate_total",
                            "Events dropped because their id was already applied.")),
      dead_lettered_(NewCounter(*registry_, "nsmd_events_dead_lettered_total",
                                "Rejected messages copied to the dead-letter topic.")),
      checkpoint_failures_(NewCounter(*registry_, "nsmd_checkpoint_failures_total",
                                      "Checkpoints of state and offsets that failed.")),
      stream_time_(NewGauge(*registry_, "nsmd_stream_time_seconds",
                            "Newest event time seen over all sources, in Unix seconds; 0 "
                            "before the first event.")),
      checkpoint_duration_(
          prometheus::BuildHistogram()
              .Name("nsmd_checkpoint_duration_seconds")
              .Help("Time taken to write a checkpoint of state and offsets.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      checkpoint_keys_(NewGauge(*registry_, "nsmd_checkpoint_keys",
                                "State keys written by the last successful checkpoint.")),
      last_checkpoint_(NewGauge(*registry_, "nsmd_last_checkpoint_timestamp_seconds",
                                "Wall-clock time of the last successful checkpoint, in Unix "
                                "seconds; 0 before the first.")),
      reload_successful_(NewGauge(*registry_, "nsmd_config_last_reload_successful",
                                  "Whether the last configuration reload succeeded (1) or "
                                  "failed (0).")),
      reload_success_time_(NewGauge(*registry_, "nsmd_config_last_reload_success_timestamp_seconds",
                                    "Wall-clock time of the last successful configuration "
                                    "load, in Unix seconds.")),
      ready_(NewGauge(*registry_, "nsmd_ready",
                      "Whether nsmd is ready to serve up-to-date metrics (1) or not (0).")),
      lag_family_(prometheus::BuildGauge()
                      .Name("nsmd_consumer_lag")
                      .Help("Messages between the consumer position and the end of each "
                            "assigned partition.")
                      .Register(*registry_)),
      owned_family_(prometheus::BuildGauge()
                        .Name("nsmd_task_owned")
                        .Help("1 for each task (a partition's state) this instance owns and "
                              "exports; partition=\"*\" is the task of the whole input.")
                        .Register(*registry_)),
      restore_rows_(NewCounter(*registry_, "nsmd_task_restore_rows_total",
                               "State rows written by restoring tasks from their changelog.")),
      restore_seconds_(prometheus::BuildHistogram()
                           .Name("nsmd_task_restore_seconds")
                           .Help("Time taken to restore one assigned task from its changelog.")
                           .Register(*registry_)
                           .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1,
                                                                            5, 10, 30, 60, 300})) {
  auto& rejected = prometheus::BuildCounter()
                       .Name("nsmd_events_rejected_total")
                       .Help("Messages that could not be decoded into an event, by reason.")
                       .Register(*registry_);
  for (RejectReason r : kAllRejectReasons) {
    rejected_[static_cast<size_t>(r)] =
        &rejected.Add({{"reason", std::string(RejectReasonName(r))}});
  }
  auto& task_outcomes =
      prometheus::BuildGauge()
          .Name("nsmd_owned_tasks_messages")
          .Help(
              "Messages of the tasks this instance owns, since each task's state began, by "
              "outcome; they move with the tasks, so instances that split the partitions add "
              "up.")
          .Register(*registry_);
  const char* outcomes[] = {"consumed", "applied", "late", "duplicate"};
  for (size_t i = 0; i < task_outcomes_.size(); ++i) {
    task_outcomes_[i] = &task_outcomes.Add({{"outcome", outcomes[i]}});
  }
  auto& task_rejected = prometheus::BuildGauge()
                            .Name("nsmd_owned_tasks_messages_rejected")
                            .Help(
                                "Messages of the tasks this instance owns that could not be "
                                "decoded, since each task's state began, by reason.")
                            .Register(*registry_);
  for (RejectReason r : kAllRejectReasons) {
    task_rejected_[static_cast<size_t>(r)] =
        &task_rejected.Add({{"reason", std::string(RejectReasonName(r))}});
  }
  prometheus::BuildGauge()
      .Name("nsmd_build_info")
      .Help("Build of the running nsmd; always 1.")
      .Register(*registry_)
      .Add({{"version", NSMD_VERSION}})
      .Set(1);
  reload_successful_.Set(1);
  reload_success_time_.Set(NowSeconds());
}

double PipelineProbe::NowSeconds() const {
  return absl::ToDoubleSeconds(clock_() - absl::UnixEpoch());
}

void PipelineProbe::OnConsumed(uint64_t n) { consumed_.Increment(static_cast<double>(n)); }

void PipelineProbe::OnRejected(RejectReason reason, uint64_t n) {
  const auto i = static_cast<size_t>(reason);
  if (i < rejected_.size()) rejected_[i]->Increment(static_cast<double>(n));
}

void PipelineProbe::OnApplied(uint64_t n) { applied_.Increment(static_cast<double>(n)); }

void PipelineProbe::OnLate(uint64_t n) { late_.Increment(static_cast<double>(n)); }

void PipelineProbe::OnDuplicate(uint64_t n) { duplicate_.Increment(static_cast<double>(n)); }

void PipelineProbe::OnDeadLettered() { dead_lettered_.Increment(); }

void PipelineProbe::OnCheckpoint(absl::Duration duration, size_t keys) {
  checkpoint_duration_.Observe(absl::ToDoubleSeconds(duration));
  checkpoint_keys_.Set(static_cast<double>(keys));
  last_checkpoint_.Set(NowSeconds());
}

void PipelineProbe::OnCheckpointUnchanged() {
  checkpoint_keys_.Set(0);
  last_checkpoint_.Set(NowSeconds());
}

void PipelineProbe::OnTaskRestored(uint64_t rows, absl::Duration elapsed) {
  restore_rows_.Increment(static_cast<double>(rows));
  restore_seconds_.Observe(absl::ToDoubleSeconds(elapsed));
}

void PipelineProbe::OnCheckpointFailure() { checkpoint_failures_.Increment(); }

void PipelineProbe::SetOwnedTaskCounts(const EventCounts& counts) {
  const uint64_t outcomes[] = {counts.consumed, counts.applied, counts.late, counts.duplicate};
  for (size_t i = 0; i < task_outcomes_.size(); ++i) {
    task_outcomes_[i]->Set(static_cast<double>(outcomes[i]));
  }
  for (size_t i = 0; i < task_rejected_.size(); ++i) {
    task_rejected_[i]->Set(static_cast<double>(counts.rejected[i]));
  }
}

void PipelineProbe::SetStreamTime(EventTime time) {
  stream_time_.Set(static_cast<double>(time.millis()) / 1000.0);
}

void PipelineProbe::SyncPartitionGauges(
    prometheus::Family<prometheus::Gauge>& family,
    const std::vector<std::pair<TopicPartitionId, int64_t>>& values, PartitionGauges* gauges) {
  PartitionGauges next;
  next.reserve(values.size());
  for (const auto& [tp, value] : values) {
    PartitionKey key(tp.topic, tp.partition);
    prometheus::Gauge*& gauge = next[key];
    if (gauge == nullptr) {
      auto old = gauges->find(key);
      if (old != gauges->end()) {
        gauge = old->second;
        gauges->erase(old);
      } else {
        const std::string partition =
            tp.partition.value() < 0 ? "*" : std::to_string(tp.partition.value());
        gauge = &family.Add({{"topic", tp.topic}, {"partition", partition}});
      }
    }
    gauge->Set(static_cast<double>(value));
  }
  // What is left belongs to partitions no longer listed.
  for (const auto& [key, gauge] : *gauges) family.Remove(gauge);
  *gauges = std::move(next);
}

void PipelineProbe::SetLag(const std::vector<std::pair<TopicPartitionId, int64_t>>& lag) {
  absl::MutexLock lock(&gauges_mu_);
  SyncPartitionGauges(lag_family_, lag, &lag_);
}

void PipelineProbe::SetOwnedTasks(const std::vector<TopicPartitionId>& tasks) {
  std::vector<std::pair<TopicPartitionId, int64_t>> owned;
  owned.reserve(tasks.size());
  for (const TopicPartitionId& task : tasks) owned.emplace_back(task, 1);
  absl::MutexLock lock(&gauges_mu_);
  SyncPartitionGauges(owned_family_, owned, &owned_);
}

void PipelineProbe::OnReload(bool ok) {
  reload_successful_.Set(ok ? 1 : 0);
  if (ok) reload_success_time_.Set(NowSeconds());
}

void PipelineProbe::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

}  // namespace nsmd
