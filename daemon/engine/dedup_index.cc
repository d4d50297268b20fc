#include "daemon/engine/dedup_index.h"

#include <algorithm>
#include <cstring>

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
  auto [it, inserted] = times_.try_emplace(Split(id_hash), time_ms);
  if (!inserted) {
    if (it->second >= expired_before_) return true;
    it->second = time_ms;  // an expired id seen again: a new occurrence
  }
  AppendToRow(id, time_ms);
  return false;
}

void DedupIndex::Prefetch(absl::string_view id, absl::uint128 id_hash) const {
  if (!enabled() || id.empty()) return;
  times_.prefetch(Split(id_hash));
}

void DedupIndex::AppendToRow(absl::string_view id, int64_t time_ms) {
  char header[kEntryHeader];
  EncodeFixed64(header, static_cast<uint64_t>(time_ms));
  EncodeFixed32(header + sizeof(uint64_t), static_cast<uint32_t>(id.size()));
  row_.append(header, sizeof header);
  row_.append(id.data(), id.size());
  row_newest_ = std::max(row_newest_, time_ms);
}

void DedupIndex::TakeDelta(StateDelta* delta) {
  if (row_.empty()) return;
  std::string key = RowKey(row_newest_, next_row_seq_++);
  delta->Put(key, row_);
  rows_.emplace_back(row_newest_, std::move(key));
  if (rows_.size() > 1 && rows_[rows_.size() - 2].first > row_newest_) rows_unsorted_ = true;
  row_.clear();
  row_newest_ = std::numeric_limits<int64_t>::min();
}

void DedupIndex::Expire(int64_t now_ms, StateDelta* delta) {
  if (!enabled()) return;
  // The pending row first, so a deletion below is the last word on it.
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
  // Sweep the table once the floor has moved by an eighth of the horizon
  // since the last sweep (or has come from nowhere: the first Expire).
  if (swept_floor_ == std::numeric_limits<int64_t>::min() ||
      expired_before_ - swept_floor_ >= horizon_ms_ / 8) {
    const int64_t floor = expired_before_;
    absl::erase_if(times_, [floor](const auto& entry) { return entry.second < floor; });
    swept_floor_ = expired_before_;
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
    auto [it, inserted] = times_.try_emplace(Split(HashMember(id)), time);
    if (!inserted && it->second >= time) continue;
    it->second = time;
  }
  rows_.emplace_back(static_cast<int64_t>(newest), std::string(key));
  rows_unsorted_ = true;
  next_row_seq_ = std::max(next_row_seq_, seq + 1);
  return absl::OkStatus();
}

}  // namespace nsmd
