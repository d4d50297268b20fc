// StateStore: nsmd's RocksDB database of window state and source offsets.
#ifndef NSMD_DAEMON_STATE_STATE_STORE_H_
#define NSMD_DAEMON_STATE_STATE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/state/source_offset.h"
#include "daemon/state/state_delta.h"

namespace rocksdb {
class DB;
}

namespace nsmd {

// Owns the RocksDB instance under the state dir. Engine state lives under
// keys the engine chooses (prefix "m/"); offsets under "o/" (see
// state_store.cc for the encoding). Commit() is atomic: after a crash the
// database holds either all of a checkpoint or none of it. Thread-compatible:
// callers serialize access (the pipeline thread owns it).
class StateStore {
 public:
  // Opens (creating if absent) the database in `dir`. `config_identity`
  // names the config the state belongs to (e.g. the consumer group); a dir
  // written for another identity is refused with FailedPrecondition, so two
  // deployments never mix state. Corruption gives DataLoss with the path.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir,
                                                           absl::string_view config_identity);
  ~StateStore();

  // Atomically writes `delta` and `offsets` (one WriteBatch, fsync'ed WAL).
  absl::Status Commit(const StateDelta& delta, const std::vector<SourceOffset>& offsets);

  // Calls fn(key, value) for every engine key (not offsets or metadata) in
  // key order. Stops and returns the first non-OK status fn returns.
  absl::Status ScanEngineState(
      const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn) const;

  // Every stored offset.
  absl::StatusOr<std::vector<SourceOffset>> LoadOffsets() const;

  // Deletes every engine key starting with `prefix` (state of a metric whose
  // definition changed). Takes effect immediately.
  absl::Status DeletePrefix(absl::string_view prefix);

  // Approximate on-disk size of the database, in bytes.
  uint64_t ApproximateSizeBytes() const;

  const std::string& dir() const { return dir_; }

 private:
  StateStore(std::string dir, std::unique_ptr<rocksdb::DB> db);
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_STATE_STORE_H_
