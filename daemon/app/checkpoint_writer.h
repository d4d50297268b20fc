// CheckpointWriter: commits checkpoints to the StateStore on its own thread.
#ifndef NSMD_DAEMON_APP_CHECKPOINT_WRITER_H_
#define NSMD_DAEMON_APP_CHECKPOINT_WRITER_H_

#include <cstddef>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/base/source_offset.h"
#include "daemon/source/changelog_producer.h"
#include "daemon/state/state_delta.h"
#include "daemon/state/state_store.h"

namespace nsmd {

class TaskChangelog;

// Writes one checkpoint at a time (StateStore::Commit: the RocksDB batch and
// its fsync) on a background thread, so the pipeline thread goes on
// decoding and applying events meanwhile. The batch's state and offsets were
// taken together on the pipeline thread, so whatever it has processed since
// belongs to the next checkpoint: exactly-once is unaffected.
//
// While a write is in flight the store belongs to this writer: the owner
// calls no other StateStore method until Finish() has returned the result.
// Start and Finish are called from one thread (the pipeline's).
class CheckpointWriter {
 public:
  // What became of one write.
  struct Result {
    absl::Status status;
    // The batch as submitted: on failure the caller keeps its changes (they
    // are older than anything taken since) for the retry.
    StateDelta delta;
    std::vector<SourceOffset> offsets;
    // Records of repartition topics, committed in the changelog's
    // transaction (TaskChangelog::Write).
    std::vector<ChangelogProducer::PartitionRecords> rekeyed;
    absl::Duration elapsed;  // of the Commit call
    size_t keys = 0;         // entries plus prefix deletions written
  };

  // `store` must outlive the writer.
  explicit CheckpointWriter(StateStore* store);
  // Waits for a write in flight, then stops the thread.
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // From now on every write first commits the checkpoint's changelog
  // records in a Kafka transaction (TaskChangelog::Write), and only then the
  // RocksDB batch, with the changelog ends ("c/"); a failed transaction
  // fails the write as a failed RocksDB write does. `changelog` (may be
  // null: none) must outlive the writer. Requires !busy().
  void set_changelog(TaskChangelog* changelog) { changelog_ = changelog; }

  // Waits until the write in flight (if any) has completed, leaving its
  // result for Finish(): afterwards the store may be used until the next
  // Start().
  void WaitIdle();

  // Starts writing `delta` with `offsets` (and `rekeyed`, which needs a
  // changelog). Requires !busy().
  void Start(StateDelta delta, std::vector<SourceOffset> offsets,
             std::vector<ChangelogProducer::PartitionRecords> rekeyed = {});

  // True from Start() until Finish() has returned that write's result.
  bool busy() const { return busy_; }

  // The result of the write in flight once it has completed: at once
  // (nullopt if it is still running), or with `wait` after waiting for it.
  // Nullopt when nothing is in flight.
  std::optional<Result> Finish(bool wait);

 private:
  void Run();
  bool HasJobOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || job_.has_value();
  }
  bool HasResult() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_.has_value(); }

  StateStore* store_;
  TaskChangelog* changelog_ = nullptr;  // set before the first Start()
  bool busy_ = false;                   // owner thread only
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Result> job_ ABSL_GUARDED_BY(mu_);   // submitted, not yet written
  std::optional<Result> done_ ABSL_GUARDED_BY(mu_);  // written, not yet taken
  std::thread thread_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_CHECKPOINT_WRITER_H_
