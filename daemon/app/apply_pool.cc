#include "daemon/app/apply_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nsmd {

ApplyPool::Pause::Pause(ApplyPool* pool) : pool_(pool) { pool_->PauseThreads(); }

ApplyPool::Pause::~Pause() { pool_->ResumeThreads(); }

ApplyPool::ApplyPool(Pipeline* pipeline, int threads)
    : pipeline_(pipeline), decode_ahead_(!pipeline->per_partition_tasks() && threads > 1) {
  const int lanes = pipeline->per_partition_tasks() ? std::max(threads, 1) : 1;
  pipeline_->SetLanes(lanes);
  {
    absl::MutexLock lock(&mu_);
    for (int lane = 0; lane < lanes; ++lane)
      queued_cv_.push_back(std::make_unique<absl::CondVar>());
    queued_.resize(lanes);
    free_.resize(lanes);
    stats_.resize(lanes);
  }
  for (int lane = 0; lane < lanes; ++lane) {
    batches_.push_back(std::make_unique<DecodedBatch>());
    filling_.push_back(batches_.back().get());
  }
  for (int lane = 0; lane < lanes; ++lane) threads_.emplace_back([this, lane] { Run(lane); });
  if (decode_ahead_) threads_.emplace_back([this] { RunDecode(); });
}

ApplyPool::~ApplyPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    WakeAll();
  }
  for (std::thread& thread : threads_) thread.join();
}

void ApplyPool::Add(SourceMessage& message) {
  if (message.partition != last_partition_ || message.topic != last_topic_ || last_lane_ < 0) {
    if (!pipeline_->Routed(message.topic, message.partition)) {
      PauseThreads();
      pipeline_->EnsureRoute(message.topic, message.partition);
      ResumeThreads();
    }
    last_topic_ = std::string(message.topic);
    last_partition_ = message.partition;
    last_lane_ = pipeline_->LaneOf(message.topic, message.partition);
  }
  DecodedBatch* batch = filling_[last_lane_];
  batch->Add(message);
  if (batch->size() >= kBatchMessages) Submit(last_lane_);
}

void ApplyPool::Submit(int lane) {
  DecodedBatch* batch = filling_[lane];
  if (batch->empty()) return;
  absl::MutexLock lock(&mu_);
  if (InFlight(lane) >= kMaxQueued) {
    ++room_waits_;
    while (InFlight(lane) > kResumeQueued) room_cv_.Wait(&mu_);
  }
  queued_[lane].push_back(batch);
  if (free_[lane].empty()) {
    batches_.push_back(std::make_unique<DecodedBatch>());
    filling_[lane] = batches_.back().get();
  } else {
    filling_[lane] = free_[lane].back();
    free_[lane].pop_back();
  }
  queued_cv_[lane]->Signal();  // its applying or decoding thread
}

size_t ApplyPool::InFlight(int lane) const {
  return queued_[lane].size() + (decode_ahead_ ? decoded_.size() : 0);
}

void ApplyPool::WakeAll() {
  for (const std::unique_ptr<absl::CondVar>& cv : queued_cv_) cv->SignalAll();
  decoded_cv_.SignalAll();
}

void ApplyPool::Drain() {
  for (int lane = 0; lane < threads(); ++lane) Submit(lane);
  absl::MutexLock lock(&mu_);
  while (!AllApplied()) idle_cv_.Wait(&mu_);
  last_lane_ = -1;
}

bool ApplyPool::AllApplied() const {
  if (active_ > 0 || !decoded_.empty()) return false;
  for (const std::deque<DecodedBatch*>& queued : queued_) {
    if (!queued.empty()) return false;
  }
  return true;
}

void ApplyPool::PauseThreads() {
  absl::MutexLock lock(&mu_);
  paused_ = true;
  while (active_ > 0) idle_cv_.Wait(&mu_);
  last_lane_ = -1;
}

void ApplyPool::ResumeThreads() {
  absl::MutexLock lock(&mu_);
  paused_ = false;
  WakeAll();
}

std::vector<ApplyPool::ThreadStats> ApplyPool::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

uint64_t ApplyPool::room_waits() const {
  absl::MutexLock lock(&mu_);
  return room_waits_;
}

DecodedBatch* ApplyPool::Take(int lane, bool decoded) {
  absl::MutexLock lock(&mu_);
  std::deque<DecodedBatch*>& input = decoded ? decoded_ : queued_[lane];
  absl::CondVar& cv = decoded ? decoded_cv_ : *queued_cv_[lane];
  while (!stopping_ && (paused_ || input.empty())) cv.Wait(&mu_);
  if (stopping_) return nullptr;
  DecodedBatch* batch = input.front();
  input.pop_front();
  ++active_;
  return batch;
}

void ApplyPool::Run(int lane) {
  // "nsmd-apply-<lane>" in top -H and profiles (at most 15 characters).
  pthread_setname_np(pthread_self(), absl::StrCat("nsmd-apply-", lane).substr(0, 15).c_str());
  while (true) {
    DecodedBatch* batch = Take(lane, /*decoded=*/decode_ahead_);
    if (batch == nullptr) return;
    const absl::Time start = absl::Now();
    if (decode_ahead_) {
      pipeline_->ApplyLaneBatch(lane, *batch);
    } else {
      pipeline_->ProcessLaneBatch(lane, batch);
    }
    const size_t messages = batch->size();
    batch->Clear();  // returns the source's bytes
    const absl::Duration busy = absl::Now() - start;
    absl::MutexLock lock(&mu_);
    --active_;
    free_[lane].push_back(batch);
    stats_[lane].messages += messages;
    stats_[lane].busy += busy;
    if (InFlight(lane) <= kResumeQueued) room_cv_.Signal();  // the owner, if waiting
    if (active_ == 0) idle_cv_.SignalAll();
  }
}

void ApplyPool::RunDecode() {
  pthread_setname_np(pthread_self(), "nsmd-decode");
  while (true) {
    DecodedBatch* batch = Take(0, /*decoded=*/false);
    if (batch == nullptr) return;
    pipeline_->DecodeLaneBatch(0, batch);
    absl::MutexLock lock(&mu_);
    --active_;
    decoded_.push_back(batch);
    decoded_cv_.Signal();
    if (active_ == 0) idle_cv_.SignalAll();
  }
}

}  // namespace nsmd
