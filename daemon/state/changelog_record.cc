// ChangelogRecord: the changelog format.
//
// Every input partition p of topic T that a per-partition task reads has a
// changelog partition p of topic "<group_id>-<T>-changelog" (as many
// partitions as T, cleanup.policy=compact). A checkpoint writes, in one
// Kafka transaction, for every task it changes (its rows, or only its input
// offset), the task's records, in this order:
//
//   <row key>                -> <row value>        a row of the task
//   <row key>                -> null               the row is deleted
//   "\0c" <fixed32 i> <row key> -> <bytes>         chunk i (0-based, big-endian
//                                                  index) of a row longer than
//                                                  kChangelogChunkBytes;
//                                                  header nsmd-chunks: <n>
//   "\0m"                    -> <input next offset, decimal, or empty if the
//                               task has read no input yet>
//                                                  the marker: ends the task's
//                                                  records of this checkpoint
//
// <row key> is the row's key relative to the task prefix
// ("t/<topic>/<partition>/"): "m/...", "s/...", "x/..." (StateKey) or "n"
// (the task's counts), never starting with NUL, so keys starting with NUL are reserved. Tombstones
// are written first (a prefix deletion becomes one per row the store holds under it, and per chunk
// key of a chunked row), then puts in key order, then the marker. Every record has the header
// nsmd-checkpoint: <id>, unique per checkpoint attempt ("<transactional.id>/<start ns>/<seq>").
//
// Restore (ChangelogReplay) applies a checkpoint's records only when its
// marker arrives, and only those with the marker's id: records of an
// attempt that never wrote its marker (a crash mid-transaction; librdkafka's
// mock broker shows aborted and open transactions to read_committed
// consumers) are dropped, and records after the last marker are ignored.
// Values are whole values, never increments, so applying a checkpoint twice
// (an aborted attempt the mock still shows, then its retry, which holds the
// same rows or newer ones) leaves the same rows as applying it once; the
// input offset always comes from the marker, never from Kafka's committed
// offsets (which the mock discards for transactions).
//
// Compaction keeps the newest record of each key, so the log holds the
// task's whole state: deleted rows end as tombstones. A row stored in chunks
// is rebuilt from chunk 0..n-1 in order (any other sequence, such as the
// leftover higher chunks of an older, longer version of the row, rebuilds
// nothing); a row record or tombstone of the same key after its chunks wins.
#include "daemon/state/changelog_record.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

constexpr absl::string_view kChunkTag("\0c", 2);
constexpr absl::string_view kMarkerKey("\0m", 2);

std::string ChunkKey(absl::string_view key, uint32_t index) {
  std::string out(kChunkTag);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(index >> shift));
  out.append(key.data(), key.size());
  return out;
}

uint32_t ChunkCount(size_t bytes) {
  return static_cast<uint32_t>((bytes + kChangelogChunkBytes - 1) / kChangelogChunkBytes);
}

}  // namespace

void AppendRowRecords(absl::string_view key, absl::string_view value,
                      absl::string_view checkpoint_id, std::vector<ChangelogRecord>* out) {
  if (value.size() <= kChangelogChunkBytes) {
    out->push_back(
        ChangelogRecord{std::string(key), std::string(value), std::string(checkpoint_id), 0});
    return;
  }
  const uint32_t n = ChunkCount(value.size());
  for (uint32_t i = 0; i < n; ++i) {
    out->push_back(ChangelogRecord{
        ChunkKey(key, i), std::string(value.substr(i * kChangelogChunkBytes, kChangelogChunkBytes)),
        std::string(checkpoint_id), n});
  }
}

void AppendTombstones(absl::string_view key, size_t stored_bytes, absl::string_view checkpoint_id,
                      std::vector<ChangelogRecord>* out) {
  if (stored_bytes > kChangelogChunkBytes) {
    const uint32_t n = ChunkCount(stored_bytes);
    for (uint32_t i = 0; i < n; ++i) {
      out->push_back(
          ChangelogRecord{ChunkKey(key, i), std::nullopt, std::string(checkpoint_id), 0});
    }
  }
  out->push_back(ChangelogRecord{std::string(key), std::nullopt, std::string(checkpoint_id), 0});
}

ChangelogRecord MarkerRecord(std::optional<KafkaOffset> input_next_offset,
                             absl::string_view checkpoint_id) {
  return ChangelogRecord{
      std::string(kMarkerKey),
      input_next_offset ? absl::StrCat(input_next_offset->value()) : std::string(),
      std::string(checkpoint_id), 0};
}

absl::Status ChangelogReplay::Add(const ChangelogRecord& record, int64_t offset) {
  if (record.checkpoint_id != open_id_) {
    // Another checkpoint begins: whatever is held never got its marker.
    held_.clear();
    open_id_ = record.checkpoint_id;
  }
  if (record.key != kMarkerKey) {
    if (!record.key.empty() && record.key[0] == '\0' && !absl::StartsWith(record.key, kChunkTag)) {
      return absl::DataLossError(
          absl::StrCat("changelog record at offset ", offset, " has an unknown reserved key"));
    }
    if (absl::StartsWith(record.key, kChunkTag) && record.key.size() < kChunkTag.size() + 4) {
      return absl::DataLossError(
          absl::StrCat("changelog chunk record at offset ", offset, " has a short key"));
    }
    held_.push_back(record);
    return absl::OkStatus();
  }
  int64_t input_next = 0;
  if (!record.value || (!record.value->empty() && !absl::SimpleAtoi(*record.value, &input_next))) {
    return absl::DataLossError(
        absl::StrCat("changelog marker at offset ", offset, " holds no input offset"));
  }
  // The checkpoint is complete: its rows, in order, chunks reassembled.
  struct Assembly {
    uint32_t chunks = 0;
    uint32_t next = 0;
    std::string value;
  };
  absl::flat_hash_map<std::string, Assembly> assembling;
  for (ChangelogRecord& r : held_) {
    if (!absl::StartsWith(r.key, kChunkTag)) {
      assembling.erase(r.key);
      const std::string key = absl::StrCat(prefix_, r.key);
      if (r.value) {
        pending_bytes_ += r.value->size();
        pending_.PutOwned(key, std::move(*r.value));
      } else {
        pending_.Delete(key);
      }
      ++rows_;
      continue;
    }
    if (!r.value) continue;  // a chunk's tombstone: for compaction only
    const absl::string_view rest = absl::string_view(r.key).substr(kChunkTag.size());
    uint32_t index = 0;
    for (int i = 0; i < 4; ++i) index = (index << 8) | static_cast<unsigned char>(rest[i]);
    const std::string row_key(rest.substr(4));
    Assembly& a = assembling[row_key];
    if (index == 0) a = Assembly{r.chunks, 0, {}};
    if (a.chunks != r.chunks || a.next != index || r.chunks == 0) {
      assembling.erase(row_key);
      continue;
    }
    a.value.append(*r.value);
    if (++a.next == a.chunks) {
      pending_bytes_ += a.value.size();
      pending_.PutOwned(absl::StrCat(prefix_, row_key), std::move(a.value));
      assembling.erase(row_key);
      ++rows_;
    }
  }
  held_.clear();
  open_id_.clear();
  ++checkpoints_;
  if (!record.value->empty()) input_next_offset_ = KafkaOffset(input_next);
  changelog_end_ = offset + 1;
  return absl::OkStatus();
}

void ChangelogReplay::TakeRows(StateDelta* out) {
  out->Absorb(&pending_);
  pending_bytes_ = 0;
}

}  // namespace nsmd
