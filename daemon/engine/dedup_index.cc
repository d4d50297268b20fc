#include "daemon/engine/dedup_index.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/engine/fixed_encoding.h"
#include "daemon/engine/member_hash.h"
#include "daemon/engine/state_key.h"

namespace nsmd {
namespace {

constexpr absl::string_view kFloorKey = "x/floor";
constexpr size_t kEntryHeader = sizeof(uint64_t) + sizeof(uint32_t);

// "x/<newest>/<seq>" with both numbers zero-padded to 20 digits, so rows
// sort by newest time. Event times before 1970 are stored as 0 (they only
// make a row expire earlier than it could: never later).
std::string RowKey(int64_t newest, uint64_t seq) {
  return absl::StrFormat("x/%020d/%020d", std::max<int64_t>(0, newest), seq);
}

}  // namespace

bool DedupIndex::SeenOrAdd(absl::string_view id, absl::uint128 id_hash, EventTime time) {
  if (!enabled() || id.empty()) return false;
  if (Insert(id_hash, time.millis(), /*keep_newer=*/false)) return true;
  AppendToRow(id, time.millis());
  return false;
}

void DedupIndex::Prefetch(absl::string_view id, absl::uint128 id_hash) const {
  if (!enabled() || id.empty() || filter_blocks_ == 0 || buckets_.empty()) return;
  __builtin_prefetch(FilterBlock(absl::Uint128High64(id_hash)));
  const Bucket& open = buckets_.back();
  const Slot* slot = &open.slots[absl::Uint128Low64(id_hash) & open.mask];
  __builtin_prefetch(slot);
  // A slot that straddles two cache lines needs both.
  __builtin_prefetch(reinterpret_cast<const char*>(slot) + sizeof(Slot) - 1);
}

size_t DedupIndex::size() const {
  size_t n = 0;
  for (const Bucket& b : buckets_) n += b.size;
  return n;
}

DedupIndex::Slot* DedupIndex::Bucket::Find(uint64_t low, uint64_t high) const {
  for (size_t i = low & mask;; i = (i + 1) & mask) {
    Slot* slot = &slots[i];
    if (slot->stamp == 0 || (slot->low == low && slot->high == high)) return slot;
  }
}

bool DedupIndex::Insert(absl::uint128 hash, int64_t time_ms, bool keep_newer) {
  const uint64_t low = absl::Uint128Low64(hash), high = absl::Uint128High64(hash);
  const uint64_t stamp = Stamp(std::max(time_ms, std::numeric_limits<int64_t>::min() + 1));
  Bucket* open = &OpenBucket();
  Slot* slot = open->Find(low, high);
  if (FilterAdd(low, high)) {
    // Maybe seen: its newest occurrence in any bucket decides.
    uint64_t newest = slot->stamp;
    for (const Bucket& b : buckets_) {
      if (&b == open) continue;
      const Slot* s = b.Find(low, high);
      if (s->stamp != 0) newest = std::max(newest, s->stamp);
    }
    // (A zero stamp is no occurrence, whatever the floor.)
    if (newest != 0 && (keep_newer ? newest >= stamp : newest >= Stamp(expired_before_))) {
      return true;
    }
    if (slot->stamp != 0) {  // an older occurrence in the open bucket
      slot->stamp = stamp;
      open->newest = std::max(open->newest, stamp);
      return false;
    }
  }
  *slot = Slot{low, high, stamp};
  ++open->size;
  open->newest = std::max(open->newest, stamp);
  ++filter_ids_;
  return false;
}

DedupIndex::Bucket& DedupIndex::OpenBucket() {
  if (filter_blocks_ == 0 || (filter_ids_ + 1) * 16 > filter_blocks_ * 512) RebuildFilter();
  if (buckets_.empty() || 2 * buckets_.back().size == buckets_.back().mask + 1) {
    // The first buckets start small and double up to ids_per_bucket: a
    // partition's task may hold a few thousand ids, and a full table (3 MiB
    // the kernel faults in and zeroes) for each of 128 tasks was a quarter
    // of a catch-up's CPU.
    const size_t ids = buckets_.empty() ? std::min(ids_per_bucket_, kFirstBucketIds)
                                        : std::min(ids_per_bucket_, buckets_.back().mask + 1);
    Bucket b;
    const size_t slots = 2 * ids;
    if (spare_ != nullptr && spare_.get_deleter().bytes == slots * sizeof(Slot)) {
      // A dropped bucket's memory: clearing it costs less than faulting
      // fresh pages in.
      b.memory = std::move(spare_);
      std::memset(b.memory.get(), 0, slots * sizeof(Slot));
    } else {
      b.memory = Map(slots * sizeof(Slot));
    }
    b.slots = static_cast<Slot*>(b.memory.get());
    b.mask = slots - 1;
    buckets_.push_back(std::move(b));
  }
  return buckets_.back();
}

bool DedupIndex::FilterAdd(uint64_t low, uint64_t high) {
  uint64_t* block = FilterBlock(high);
  bool present = true;
  // 7 bits of the block's 512, 9 bits of `low` each.
  for (int k = 0; k < 7; ++k) {
    const unsigned bit = static_cast<unsigned>(low >> (9 * k)) & 511;
    const uint64_t mask = uint64_t{1} << (bit & 63);
    present = present && (block[bit >> 6] & mask) != 0;
    block[bit >> 6] |= mask;
  }
  return present;
}

void DedupIndex::RebuildFilter() {
  const size_t held = size();
  size_t blocks = 64;
  while (blocks * 512 < 2 * 16 * held) blocks *= 2;
  if (blocks == filter_blocks_) {
    std::memset(filter_, 0, blocks * 64);
  } else {
    filter_memory_ = Map(blocks * 64);
  }
  filter_ = static_cast<uint64_t*>(filter_memory_.get());
  filter_blocks_ = blocks;
  filter_ids_ = held;
  filter_dropped_ = 0;
  for (const Bucket& b : buckets_) {
    for (size_t i = 0; i <= b.mask; ++i) {
      if (b.slots[i].stamp != 0) FilterAdd(b.slots[i].low, b.slots[i].high);
    }
  }
}

std::unique_ptr<void, DedupIndex::Unmapper> DedupIndex::Map(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  // Map a huge page more than needed and unmap the ends, so that the
  // memory starts on a huge page boundary.
  const size_t mapped = bytes + kHugePage;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (begin + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > begin) munmap(p, aligned - begin);
  const uintptr_t end = begin + mapped, aligned_end = aligned + bytes;
  if (end > aligned_end) munmap(reinterpret_cast<void*>(aligned_end), end - aligned_end);
  if (bytes >= kHugePage) madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return std::unique_ptr<void, Unmapper>(reinterpret_cast<void*>(aligned), Unmapper{bytes});
}

void DedupIndex::Unmapper::operator()(void* p) const { munmap(p, bytes); }

void DedupIndex::AppendToRow(absl::string_view id, int64_t time_ms) {
  if (!row_.empty() && row_.size() + kEntryHeader + id.size() > kMaxRowBytes) {
    closed_rows_.emplace_back(row_newest_, std::move(row_));
    row_ = std::string();
    row_newest_ = std::numeric_limits<int64_t>::min();
  }
  if (row_.capacity() < kMaxRowBytes) row_.reserve(kMaxRowBytes);
  char header[kEntryHeader];
  EncodeFixed64(header, static_cast<uint64_t>(time_ms));
  EncodeFixed32(header + sizeof(uint64_t), static_cast<uint32_t>(id.size()));
  row_.append(header, sizeof header);
  row_.append(id.data(), id.size());
  row_newest_ = std::max(row_newest_, time_ms);
}

void DedupIndex::TakeDelta(StateDelta* delta) {
  if (!row_.empty()) {
    closed_rows_.emplace_back(row_newest_, std::move(row_));
    row_ = std::string();
    row_newest_ = std::numeric_limits<int64_t>::min();
  }
  for (auto& [newest, bytes] : closed_rows_) {
    std::string key = RowKey(newest, next_row_seq_++);
    delta->PutOwned(key, std::move(bytes));
    if (!rows_.empty() && rows_.back().first > newest) rows_unsorted_ = true;
    rows_.emplace_back(newest, std::move(key));
  }
  closed_rows_.clear();
}

void DedupIndex::Expire(EventTime now, StateDelta* delta) {
  if (!enabled()) return;
  // The pending rows first, so a deletion below is the last word on them.
  TakeDelta(delta);
  if (rows_unsorted_) {
    std::stable_sort(rows_.begin(), rows_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    rows_unsorted_ = false;
  }
  const int64_t oldest = now.millis() - horizon_ms_;
  if (oldest > expired_before_) {
    expired_before_ = oldest;
    delta->Put(kFloorKey, absl::StrCat(expired_before_));
  }
  // Drop the buckets whose every id has expired.
  const uint64_t floor = Stamp(expired_before_);
  size_t dropped = 0;
  std::erase_if(buckets_, [this, floor, &dropped](Bucket& b) {
    if (b.newest >= floor) return false;
    dropped += b.size;
    if (spare_ == nullptr || b.memory.get_deleter().bytes >= spare_.get_deleter().bytes) {
      spare_ = std::move(b.memory);
    }
    return true;
  });
  filter_dropped_ += dropped;
  if (filter_dropped_ * 4 > filter_ids_) RebuildFilter();
  while (!rows_.empty() && rows_.front().first < oldest) {
    delta->Delete(rows_.front().second);
    rows_.pop_front();
  }
}

absl::Status DedupIndex::Restore(absl::string_view key, absl::string_view value) {
  auto malformed = [&key](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("malformed dedup row \"", key, "\": ", why));
  };
  if (key == kFloorKey) {
    int64_t floor = 0;
    if (!absl::SimpleAtoi(value, &floor)) return malformed("not a number");
    expired_before_ = std::max(expired_before_, floor);
    return absl::OkStatus();
  }
  // "x/<20 digits>/<20 digits>"
  uint64_t newest = 0, seq = 0;
  if (key.size() != 2 + 20 + 1 + 20 || !absl::StartsWith(key, kKeyPrefix) || key[22] != '/' ||
      !absl::SimpleAtoi(key.substr(2, 20), &newest) ||
      !absl::SimpleAtoi(key.substr(23, 20), &seq)) {
    return malformed("not x/<time>/<sequence>");
  }
  while (!value.empty()) {
    if (value.size() < kEntryHeader) return malformed("truncated entry");
    const int64_t time = static_cast<int64_t>(DecodeFixed64(value.data()));
    const uint32_t length = DecodeFixed32(value.data() + sizeof(uint64_t));
    value.remove_prefix(kEntryHeader);
    if (value.size() < length) return malformed("truncated id");
    const absl::string_view id = value.substr(0, length);
    value.remove_prefix(length);
    Insert(HashMember(id), time, /*keep_newer=*/true);
  }
  rows_.emplace_back(static_cast<int64_t>(newest), std::string(key));
  rows_unsorted_ = true;
  next_row_seq_ = std::max(next_row_seq_, seq + 1);
  return absl::OkStatus();
}

}  // namespace nsmd
