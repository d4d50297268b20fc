// ApplyPool: decodes and applies polled messages on several threads, each
// owning a fixed share of the pipeline's tasks.
#ifndef NSMD_DAEMON_APP_APPLY_POOL_H_
#define NSMD_DAEMON_APP_APPLY_POOL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/app/pipeline.h"
#include "daemon/base/partition_id.h"
#include "daemon/base/source_message.h"
#include "daemon/decode/decoded_batch.h"

namespace nsmd {

// The polling thread (the owner) hands each message to the thread of its
// task's lane (Pipeline::LaneOf); each thread decodes its messages with its
// own decoder and applies them to its own tasks (Pipeline::ProcessLaneBatch),
// in the order polled, so each partition's messages are applied in offset
// order. Tasks never share a thread, so the engines need no lock.
//
// The owner may touch the pipeline only while no thread is mid-batch: in a
// Pause (threads stop between batches, batches still queued stay queued,
// so state and offsets agree: a checkpoint there is exactly-once) or after
// Drain (everything added is applied). Between them it may call only the
// pipeline's methods that are safe while lanes run.
//
// A pipeline with one whole-input task has one lane; given more than one
// thread, its batches are decoded on a thread of their own ahead of the
// applying thread (Pipeline::DecodeLaneBatch/ApplyLaneBatch), in order, so
// one core decodes batch k+1 while the other applies batch k.
//
// Every public method is called from the owner's thread. Example:
//   ApplyPool pool(pipeline, 2);
//   source->Poll(..., [&](SourceMessage& m) { pool.Add(m); });
//   { ApplyPool::Pause pause(&pool); pipeline->StartCheckpoint(); }
//   pool.Drain();  // before a revoke, reload or stop
class ApplyPool {
 public:
  // How much each thread did since start (for the log and benchmarks).
  struct ThreadStats {
    uint64_t messages = 0;
    absl::Duration busy;  // decoding and applying
  };

  // Keeps the threads between batches while it lives.
  class Pause {
   public:
    explicit Pause(ApplyPool* pool);
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

   private:
    ApplyPool* const pool_;
  };

  // Sets `pipeline`'s lanes to `threads` (>= 1; 1 when the pipeline has one
  // whole-input task: it cannot be split) and starts a thread per lane
  // (and the decoding thread of a whole-input task given threads > 1).
  // `pipeline` must outlive the pool, and nothing else may apply messages
  // to it meanwhile.
  ApplyPool(Pipeline* pipeline, int threads);
  // Drops batches not applied yet (their messages' offsets did not
  // advance) and stops the threads.
  ~ApplyPool();
  ApplyPool(const ApplyPool&) = delete;
  ApplyPool& operator=(const ApplyPool&) = delete;

  // Applying threads, one per lane.
  int threads() const { return static_cast<int>(filling_.size()); }
  // True if the one lane's batches are decoded on a thread of their own.
  bool decodes_ahead() const { return decode_ahead_; }

  // Adds a polled message for its task's thread (taking its lease): queued
  // once that thread's batch is full. Once that thread has kMaxQueued
  // batches in flight, waits until it is down to kResumeQueued (so memory
  // stays bounded). Loads the task first if the pipeline has no route for
  // it (pausing the threads).
  void Add(SourceMessage& message);

  // Queues every batch being filled and waits until every thread has
  // applied everything: afterwards the pipeline reflects every message
  // added, and the threads stay idle until the next Add().
  void Drain();

  // Per thread, in lane order (every thread idle: in a Pause or after
  // Drain).
  std::vector<ThreadStats> stats() const;

  // How often Add() found its thread's lane full and waited; from any
  // thread.
  uint64_t room_waits() const;

  // Messages per batch handed to a thread, and batches queued per thread
  // at most.
  static constexpr size_t kBatchMessages = 500;
  static constexpr size_t kMaxQueued = 32;
  // A full lane takes more once it is down to this many: the owner is
  // woken once per kMaxQueued - kResumeQueued batches, not per batch.
  static constexpr size_t kResumeQueued = kMaxQueued / 2;

 private:
  // An applying thread; with decode_ahead_ it applies decoded batches.
  void Run(int lane);
  // The decoding thread (decode_ahead_): moves lane 0's batches from
  // queued_ to decoded_.
  void RunDecode();
  // A thread's next batch: lane `lane`'s queued one, or with `decoded` the
  // next decoded one; waits while there is none or the pool is paused, and
  // counts the thread active. Null once the pool is stopping.
  DecodedBatch* Take(int lane, bool decoded);
  // Queues lane `lane`'s filling batch if it holds messages.
  void Submit(int lane);
  void PauseThreads();
  void ResumeThreads();
  bool AllApplied() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Pipeline* const pipeline_;
  const bool decode_ahead_;
  // Owner only: per lane, the batch being filled and every batch made.
  std::vector<DecodedBatch*> filling_;
  std::vector<std::unique_ptr<DecodedBatch>> batches_;
  // The partition of the previous message added and its lane: reset
  // whenever the pipeline may have changed its routes.
  std::string last_topic_;
  std::optional<PartitionId> last_partition_;  // none before the first message
  int last_lane_ = -1;
  std::vector<std::thread> threads_;

  // Batches in flight for `lane`: queued, and decoded ahead.
  size_t InFlight(int lane) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes every thread waiting in Take() (on resume and stop).
  void WakeAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Each waiter has its own: a thread woken needlessly takes a core from
  // the one applying (catch-up on 2 cores is CPU-bound).
  std::vector<std::unique_ptr<absl::CondVar>> queued_cv_;  // per lane: a batch queued
  absl::CondVar decoded_cv_;                               // a batch decoded
  absl::CondVar room_cv_;  // a lane's batches in flight fell to kResumeQueued
  absl::CondVar idle_cv_;  // no thread is mid-batch
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;  // threads mid-batch
  uint64_t room_waits_ ABSL_GUARDED_BY(mu_) = 0;
  // Per lane: batches queued, in order; batches applied, to fill again;
  // what its thread did.
  std::vector<std::deque<DecodedBatch*>> queued_ ABSL_GUARDED_BY(mu_);
  // With decode_ahead_: lane 0's batches decoded, in order, to apply.
  std::deque<DecodedBatch*> decoded_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<DecodedBatch*>> free_ ABSL_GUARDED_BY(mu_);
  std::vector<ThreadStats> stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_APPLY_POOL_H_
