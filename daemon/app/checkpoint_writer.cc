#include "daemon/app/checkpoint_writer.h"

#include <utility>

#include "absl/time/clock.h"
#include "daemon/app/crash_point.h"
#include "daemon/app/task_changelog.h"

namespace nsmd {

CheckpointWriter::CheckpointWriter(StateStore* store) : store_(store), thread_([this] { Run(); }) {}

CheckpointWriter::~CheckpointWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void CheckpointWriter::Start(StateDelta delta, std::vector<SourceOffset> offsets,
                             std::vector<ChangelogProducer::PartitionRecords> rekeyed) {
  Result job;
  job.delta = std::move(delta);
  job.offsets = std::move(offsets);
  job.rekeyed = std::move(rekeyed);
  absl::MutexLock lock(&mu_);
  job_ = std::move(job);
  busy_ = true;
}

void CheckpointWriter::WaitIdle() {
  if (!busy_) return;
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &CheckpointWriter::HasResult));
}

std::optional<CheckpointWriter::Result> CheckpointWriter::Finish(bool wait) {
  if (!busy_) return std::nullopt;
  absl::MutexLock lock(&mu_);
  if (wait) {
    mu_.Await(absl::Condition(this, &CheckpointWriter::HasResult));
  } else if (!done_.has_value()) {
    return std::nullopt;
  }
  std::optional<Result> out = std::move(done_);
  done_.reset();
  busy_ = false;
  return out;
}

void CheckpointWriter::Run() {
  while (true) {
    Result job;
    {
      absl::MutexLock lock(&mu_);
      // A submitted job is written even when stopping: the destructor waits.
      mu_.Await(absl::Condition(this, &CheckpointWriter::HasJobOrStopping));
      if (!job_.has_value()) return;
      job = std::move(*job_);
      job_.reset();
    }
    const absl::Time start = absl::Now();
    CrashPoint("checkpoint_before_write");  // test only; see crash_point.h
    std::vector<SourceOffset> changelog_offsets;
    if (changelog_ != nullptr) {
      job.status =
          changelog_->Write(job.delta, job.offsets, job.rekeyed, *store_, &changelog_offsets);
      // Test only: the transaction is committed, the RocksDB batch not yet.
      if (job.status.ok()) CrashPoint("checkpoint_after_changelog");
    }
    if (job.status.ok()) job.status = store_->Commit(job.delta, job.offsets, changelog_offsets);
    if (job.status.ok()) CrashPoint("checkpoint_after_write");  // test only
    job.elapsed = absl::Now() - start;
    job.keys = job.delta.size();
    absl::MutexLock lock(&mu_);
    done_ = std::move(job);
  }
}

}  // namespace nsmd
