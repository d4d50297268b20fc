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

bool DedupIndex::SeenOrAdd(absl::string_view id, absl::uint128 id_hash, int64_t time_ms) {
  if (!enabled() || id.empty()) return false;
  if (Insert(id_hash, time_ms, /*keep_newer=*/false)) return true;
  AppendToRow(id, time_ms);
  return false;
}

void DedupIndex::Prefetch(absl::string_view id, absl::uint128 id_hash) const {
  if (!enabled() || id.empty() || capacity_ == 0) return;
  const Slot* slot = &slots_[absl::Uint128Low64(id_hash) & (capacity_ - 1)];
  __builtin_prefetch(slot);
  // A slot that straddles two cache lines needs both.
  __builtin_prefetch(reinterpret_cast<const char*>(slot) + sizeof(Slot) - 1);
}

bool DedupIndex::Insert(absl::uint128 hash, int64_t time_ms, bool keep_newer) {
  if ((occupied_ + 1) * 8 > capacity_ * 5) MakeRoom();
  const uint64_t low = absl::Uint128Low64(hash), high = absl::Uint128High64(hash);
  const uint64_t stamp = Stamp(std::max(time_ms, std::numeric_limits<int64_t>::min() + 1));
  const uint64_t expired = Stamp(expired_before_);
  const size_t mask = capacity_ - 1;
  Slot* reusable = nullptr;
  size_t i = low & mask;
  for (;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.stamp == 0) break;
    if (slot.low == low && slot.high == high) {
      if (keep_newer) {
        slot.stamp = std::max(slot.stamp, stamp);
        return false;
      }
      if (slot.stamp >= expired) return true;
      slot.stamp = stamp;  // an expired id seen again: a new occurrence
      return false;
    }
    if (reusable == nullptr && slot.stamp < expired) reusable = &slot;
  }
  // Not present: an expired slot earlier on the probe sequence is as good
  // as the free one ending it (a later lookup passes it first).
  if (reusable == nullptr) {
    reusable = &slots_[i];
    ++occupied_;
  }
  *reusable = Slot{low, high, stamp};
  return false;
}

void DedupIndex::MakeRoom() {
  if (capacity_ > 0 && Sweep() * 8 <= capacity_ * 3) return;
  const size_t old_capacity = capacity_;
  const SlotArray old = std::move(slots_);
  capacity_ = std::max<size_t>(1024, 2 * capacity_);
  slots_ = NewSlots(capacity_);
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].stamp != 0) Place(old[i]);
  }
}

size_t DedupIndex::Sweep() {
  // A slot free before the sweep: no probe sequence runs through it.
  size_t start = 0;
  while (slots_[start].stamp != 0) ++start;
  const uint64_t expired = Stamp(expired_before_);
  size_t live = 0;
  for (size_t i = 0; i < capacity_; ++i) {
    Slot& slot = slots_[i];
    if (slot.stamp == 0) continue;
    if (slot.stamp < expired) {
      slot.stamp = 0;
    } else {
      ++live;
    }
  }
  occupied_ = live;
  // Walk the table once from `start`, taking each occupied slot out and
  // placing it again. Its probe sequence from its home to where it was
  // does not pass `start`, so it has been settled already: the id lands at
  // or before where it was, and no settled sequence is broken later.
  const size_t mask = capacity_ - 1;
  for (size_t k = 1; k < capacity_; ++k) {
    const size_t i = (start + k) & mask;
    if (slots_[i].stamp == 0) continue;
    const Slot s = slots_[i];
    slots_[i].stamp = 0;
    Place(s);
  }
  return live;
}

void DedupIndex::Place(const Slot& s) {
  const size_t mask = capacity_ - 1;
  size_t i = s.low & mask;
  while (slots_[i].stamp != 0) i = (i + 1) & mask;
  slots_[i] = s;
}

DedupIndex::SlotArray DedupIndex::NewSlots(size_t capacity) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t bytes = capacity * sizeof(Slot);
  // Map a huge page more than needed and unmap the ends, so the table
  // starts on a huge page boundary.
  const size_t mapped = bytes + kHugePage;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (begin + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > begin) munmap(p, aligned - begin);
  const uintptr_t end = begin + mapped, aligned_end = aligned + bytes;
  if (end > aligned_end) munmap(reinterpret_cast<void*>(aligned_end), end - aligned_end);
  if (bytes >= kHugePage) madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return SlotArray(reinterpret_cast<Slot*>(aligned), Unmapper{bytes});
}

void DedupIndex::Unmapper::operator()(Slot* slots) const { munmap(slots, bytes); }

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

void DedupIndex::Expire(int64_t now_ms, StateDelta* delta) {
  if (!enabled()) return;
  // The pending rows first, so a deletion below is the last word on them.
  TakeDelta(delta);
  if (rows_unsorted_) {
    std::stable_sort(rows_.begin(), rows_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    rows_unsorted_ = false;
  }
  const int64_t oldest = now_ms - horizon_ms_;
  if (oldest > expired_before_) {
    expired_before_ = oldest;
    delta->Put(kFloorKey, absl::StrCat(expired_before_));
  }
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
