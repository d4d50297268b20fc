// StateStore: nsmd's RocksDB database of window state and source offsets.
#ifndef NSMD_DAEMON_STATE_STATE_STORE_H_
#define NSMD_DAEMON_STATE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/base/partition_id.h"
#include "daemon/base/source_offset.h"
#include "daemon/state/state_delta.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace nsmd {

// Owns the RocksDB instance under the state dir. Engine state lives under
// keys the engine chooses ("m/", "s/", "x/"; stored as given); the store keeps
// its own rows under "o/" (offsets), "c/" (changelog offsets) and "meta/"
// (identity, format version),
// which engine keys may not use (see state_store.cc for the encoding).
// Commit() is atomic: after a crash the database holds either all of a
// checkpoint or none of it. Thread-compatible: callers serialize access (the
// pipeline thread owns it).
//
// Example:
//   absl::StatusOr<std::unique_ptr<StateStore>> store =
//       StateStore::Open("/var/lib/nsmd/state", "nsmd-prod");
//   if (!store.ok()) return store.status();
//   absl::Status s = (*store)->ScanEngineState(restore_fn);  // engine.Restore
//   ... apply events, recording changes in a StateDelta ...
//   s = (*store)->Commit(delta, {{"events", 0, 1234}});  // next offset 1234
class StateStore {
 public:
  // Opens (creating if absent, parents included) the database in `dir`.
  // `config_identity` names the config the state belongs to (e.g. the
  // consumer group); a new database records it, and a dir written for another
  // identity is refused with FailedPrecondition (the message names both and
  // how to rebuild), so two deployments never mix state. Also
  // FailedPrecondition: `dir` is a file, or a non-empty directory that holds
  // no RocksDB database. Corruption gives DataLoss with the path and
  // RocksDB's message; other I/O failures (including the dir being locked by
  // another open store) give Unavailable.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<StateStore>> Open(
      const std::string& dir, absl::string_view config_identity);

  // The same, with every file access of RocksDB (this open and every reopen
  // after a failed write) going through `env` instead of the default one.
  // A test seam: tests inject an Env whose file system fails writes on
  // demand. `env` must outlive the store; nullptr means the default Env.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<StateStore>> OpenWithEnv(
      const std::string& dir, absl::string_view config_identity, rocksdb::Env* env);
  ~StateStore();

  // Atomically writes `delta` and `offsets` (one WriteBatch, fsync'ed WAL);
  // an offset replaces the stored one of its topic/partition. The delta's
  // prefix deletions are applied first (range deletions), then its entries
  // (see StateDelta). Nothing to write is OK. InvalidArgument (nothing
  // written) if a delta key starts with "o/" or "meta/", or a deleted prefix
  // could match such keys ("", "o", "meta/...") or is all 0xff; Unavailable (retryable) if RocksDB
  // fails the write (e.g. disk full): nothing of the batch is stored, and the next Commit() first
  // reopens the database (as after a crash), so a retry after the disk has room again succeeds. If
  // that reopen fails too, Commit() returns Unavailable (nothing written) and the store stays
  // closed: every later Commit() tries the reopen again (the caller retries with backoff), and
  // until one succeeds ScanEngineState/LoadOffsets/DeletePrefix return
  // Unavailable and ApproximateSizeBytes() 0. Never crashes.
  // `changelog_offsets` replace the stored changelog offsets ("c/") of their
  // topic/partition in the same batch (see ChangelogOffset()).
  [[nodiscard]] absl::Status Commit(const StateDelta& delta,
                                    const std::vector<SourceOffset>& offsets,
                                    const std::vector<SourceOffset>& changelog_offsets = {});

  // The changelog offset stored for the task of input topic/partition: the
  // changelog partition's offset after the last checkpoint the task's rows
  // reflect; nullopt if none. DataLoss if the row is malformed.
  [[nodiscard]] absl::StatusOr<std::optional<KafkaOffset>> ChangelogOffset(
      absl::string_view topic, PartitionId partition) const;

  // Deletes every row under the task prefix `prefix` and the task's input
  // and changelog offsets (topic/partition), in one synced write: a restore
  // from the start of the changelog begins from nothing. InvalidArgument if
  // `prefix` could match the store's own rows; Unavailable on a failed write.
  [[nodiscard]] absl::Status ForgetTask(absl::string_view prefix, absl::string_view topic,
                                        PartitionId partition);

  // Calls fn(key, value) for every engine key (every key outside "o/" and
  // "meta/") in bytewise key order. Stops and returns the first non-OK status
  // fn returns. The views are valid only during the call. DataLoss on
  // corruption met while reading.
  [[nodiscard]] absl::Status ScanEngineState(
      const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn) const;

  // Calls fn(key, value) for every engine key starting with `prefix` (one
  // task's rows), in bytewise key order, with `prefix` cut off the key.
  // Errors as ScanEngineState; InvalidArgument if `prefix` is empty or lies
  // in the store's own namespaces.
  [[nodiscard]] absl::Status ScanEngineStateUnder(
      absl::string_view prefix,
      const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn) const;

  // Every stored offset, ordered by its "o/<topic>/<partition>" key. DataLoss
  // if a row is malformed.
  [[nodiscard]] absl::StatusOr<std::vector<SourceOffset>> LoadOffsets() const;

  // Deletes every engine key starting with `prefix` (state of a metric whose
  // definition changed). Takes effect immediately and durably (a synced
  // DeleteRange). It is not an error if no key matches. InvalidArgument if
  // the prefix could match the store's own rows ("", "o", "m", "meta/..."
  // ...); Unavailable if RocksDB fails the write.
  [[nodiscard]] absl::Status DeletePrefix(absl::string_view prefix);

  // Deletes every engine key starting with any of `prefixes`, all in one
  // synced write: on error nothing is deleted. Errors as DeletePrefix.
  [[nodiscard]] absl::Status DeletePrefixes(const std::vector<std::string>& prefixes);

  // Approximate size of the database in bytes: SST files plus memtables
  // (whose contents are in the WAL). Cheap; for a gauge.
  uint64_t ApproximateSizeBytes() const;

  // Bytes RocksDB holds in memory (0 while closed).
  struct MemoryUsage {
    uint64_t memtables = 0;      // the active one and those waiting to flush
    uint64_t block_cache = 0;    // data, index and filter blocks (capped)
    uint64_t table_readers = 0;  // per SST file, outside the cache
  };
  MemoryUsage Memory() const;

  // Checks the config settings the state depends on (e.g. {"time.zone",
  // "UTC"}, {"kafka.topics", "events"}) against those recorded in the state
  // dir. A setting not yet recorded (new database, or one written by an
  // older nsmd) is recorded now, durably. If any recorded value differs,
  // returns FailedPrecondition naming each differing setting with both
  // values and how to rebuild the state; nothing is recorded then.
  // Unavailable if RocksDB fails a read or write.
  [[nodiscard]] absl::Status VerifySettings(
      const std::vector<std::pair<std::string, std::string>>& settings);

  // True if Open() found no database and created a new, empty one.
  bool created() const { return created_; }

  const std::string& dir() const { return dir_; }

 private:
  StateStore(std::string dir, rocksdb::Env* env, std::unique_ptr<rocksdb::DB> db);
  // RocksDB's integer property `name`; 0 while closed or if it has none.
  uint64_t IntProperty(const std::string& name) const;
  std::string dir_;
  rocksdb::Env* env_;  // nullptr: RocksDB's default
  // Null only while a reopen after a failed write has not yet succeeded.
  std::unique_ptr<rocksdb::DB> db_;
  // Set when a write (or a reopen) failed: the next Commit() (re)opens the
  // database before writing.
  bool needs_resume_ = false;
  bool created_ = false;  // see created()
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_STATE_STORE_H_
