// ChangelogRecord: one record of a task's changelog partition, and how a
// task's rows become records and records become rows again.
#ifndef NSMD_DAEMON_STATE_CHANGELOG_RECORD_H_
#define NSMD_DAEMON_STATE_CHANGELOG_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// A Kafka record of a changelog topic (see changelog_record.cc for the
// format): `key`, `value` (nullopt: a tombstone) and the headers nsmd reads
// back, the id of the checkpoint that wrote it and, for a chunk, how many
// chunks its row has.
struct ChangelogRecord {
  std::string key;
  std::optional<std::string> value;
  std::string checkpoint_id;
  uint32_t chunks = 0;  // 0: not a chunk

  bool operator==(const ChangelogRecord&) const = default;
};

// The largest value of a row record; a longer row is cut into chunks of
// this size. 512 KiB stays under the 1 MB (librdkafka's and the brokers'
// default) message size with room for key and headers.
inline constexpr size_t kChangelogChunkBytes = 512 * 1024;

// Header names.
inline constexpr absl::string_view kChangelogCheckpointHeader = "nsmd-checkpoint";
inline constexpr absl::string_view kChangelogChunksHeader = "nsmd-chunks";

// Appends the records that make `key` (relative to the task prefix) hold
// `value` to *out: one record, or chunk records when `value` is longer than
// kChangelogChunkBytes. Every record carries `checkpoint_id`.
void AppendRowRecords(absl::string_view key, absl::string_view value,
                      absl::string_view checkpoint_id, std::vector<ChangelogRecord>* out);

// Appends the tombstones that delete `key`, whose stored value is
// `stored_bytes` long (0 if unknown or absent): the row's own and, for a row
// stored in chunks, one per chunk key, so that compaction drops them all.
void AppendTombstones(absl::string_view key, size_t stored_bytes, absl::string_view checkpoint_id,
                      std::vector<ChangelogRecord>* out);

// The record that ends a task's records of one checkpoint: the task's input
// next offset at that checkpoint (nullopt: the task has read no input yet,
// e.g. rows written when it was created; an empty value).
ChangelogRecord MarkerRecord(std::optional<KafkaOffset> input_next_offset,
                             absl::string_view checkpoint_id);

// Turns the records read from one changelog partition, in offset order,
// into complete checkpoints. Records are held back per checkpoint id until
// that checkpoint's marker: then its rows (and only its: records of other
// ids, left by a checkpoint that never finished, are dropped) land in the
// pending delta, keyed under `prefix`. Records after the last marker are an
// unfinished checkpoint and never applied. Not thread-safe.
class ChangelogReplay {
 public:
  // `prefix` is the task's row prefix ("t/<topic>/<partition>/").
  explicit ChangelogReplay(std::string prefix) : prefix_(std::move(prefix)) {}

  // Takes the record read at changelog offset `offset`. DataLoss on a record
  // that is not of the format (an unknown reserved key, a bad marker).
  [[nodiscard]] absl::Status Add(const ChangelogRecord& record, int64_t offset);

  // The rows of the complete checkpoints taken since the last TakeRows(),
  // under the prefix, whole values (a tombstone is a Delete). Applying them
  // to a store that already holds some of them changes nothing more.
  void TakeRows(StateDelta* out);

  // Bytes of row values waiting in the pending delta.
  size_t pending_bytes() const { return pending_bytes_; }
  // Checkpoints completed so far, rows (puts and deletes) they applied.
  uint64_t checkpoints() const { return checkpoints_; }
  uint64_t rows() const { return rows_; }
  // The input next offset of the last complete checkpoint, and the
  // changelog offset after its marker; nullopt before any.
  std::optional<KafkaOffset> input_next_offset() const { return input_next_offset_; }
  std::optional<int64_t> changelog_end() const { return changelog_end_; }

 private:
  std::string prefix_;
  std::string open_id_;                // checkpoint whose records are held
  std::vector<ChangelogRecord> held_;  // its records, in order
  StateDelta pending_;
  size_t pending_bytes_ = 0;
  uint64_t checkpoints_ = 0;
  uint64_t rows_ = 0;
  std::optional<KafkaOffset> input_next_offset_;
  std::optional<int64_t> changelog_end_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_CHANGELOG_RECORD_H_
