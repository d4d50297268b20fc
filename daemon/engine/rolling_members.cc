#include "daemon/engine/rolling_members.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/fixed_encoding.h"
#include "daemon/engine/member_hash.h"

namespace nsmd {
namespace {

constexpr size_t kEntryBytes = kMemberHashBytes + sizeof(uint64_t);

}  // namespace

void RollingMembers::Prefetch(absl::uint128 member_hash) const { last_seen_.prefetch(member_hash); }

bool RollingMembers::Add(absl::uint128 member_hash, int64_t second) {
  auto [it, inserted] = last_seen_.try_emplace(member_hash);
  Seen& seen = it->second;
  if (!inserted && seen.second >= second) return false;
  seen.second = second;
  if (!seen.dirty) {
    seen.dirty = true;
    dirty_.push_back(member_hash);
  }
  return true;
}

int64_t RollingMembers::CountBetween(int64_t oldest, int64_t newest) const {
  int64_t n = 0;
  for (const auto& [hash, seen] : last_seen_) {
    n += (seen.second >= oldest && seen.second <= newest) ? 1 : 0;
  }
  return n;
}

void RollingMembers::AppendEntry(absl::uint128 hash, int64_t second, std::string* blob) {
  AppendMemberHash(hash, blob);
  char buf[sizeof(uint64_t)];
  EncodeFixed64(buf, static_cast<uint64_t>(second));
  blob->append(buf, sizeof buf);
}

void RollingMembers::WriteChanges(const StateKey& key, const std::string& group,
                                  StateDelta* delta) {
  if (dirty_.empty()) return;
  std::string blob;
  Blob written{next_seq_++, std::numeric_limits<int64_t>::min(), 0};
  if (blob_entries_ + dirty_.size() > 2 * last_seen_.size() + kCompactionSlack) {
    // Compaction: the live members replace every blob of the group.
    delta->DeletePrefix(key.Make({"rdh", group, ""}));
    blobs_.clear();
    blob.reserve(last_seen_.size() * kEntryBytes);
    for (auto& [hash, seen] : last_seen_) {
      AppendEntry(hash, seen.second, &blob);
      written.newest = std::max(written.newest, seen.second);
      seen.dirty = false;
    }
    written.entries = last_seen_.size();
    blob_entries_ = 0;
  } else {
    blob.reserve(dirty_.size() * kEntryBytes);
    for (const absl::uint128& hash : dirty_) {
      auto it = last_seen_.find(hash);
      if (it == last_seen_.end()) continue;  // expired meanwhile
      AppendEntry(hash, it->second.second, &blob);
      written.newest = std::max(written.newest, it->second.second);
      it->second.dirty = false;
      ++written.entries;
    }
  }
  dirty_.clear();
  if (written.entries == 0) return;
  delta->PutOwned(key.Make({"rdh", group, absl::StrCat(written.seq)}), std::move(blob));
  blobs_.push_back(written);
  blob_entries_ += written.entries;
}

void RollingMembers::Expire(int64_t oldest_second, const StateKey& key, const std::string& group,
                            StateDelta* delta) {
  absl::erase_if(last_seen_, [oldest_second](const auto& entry) {
    return entry.second.second < oldest_second;
  });
  auto gone = std::remove_if(blobs_.begin(), blobs_.end(), [&](const Blob& b) {
    if (b.newest >= oldest_second) return false;
    delta->Delete(key.Make({"rdh", group, absl::StrCat(b.seq)}));
    blob_entries_ -= b.entries;
    return true;
  });
  blobs_.erase(gone, blobs_.end());
}

absl::Status RollingMembers::Restore(absl::string_view seq_text, absl::string_view value) {
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(seq_text, &seq) || value.size() % kEntryBytes != 0) {
    return absl::DataLossError("malformed rolling members row");
  }
  Blob blob{seq, std::numeric_limits<int64_t>::min(), value.size() / kEntryBytes};
  last_seen_.reserve(last_seen_.size() + blob.entries);
  for (size_t i = 0; i < value.size(); i += kEntryBytes) {
    const absl::uint128 hash = LoadMemberHash(value.data() + i);
    const auto second = static_cast<int64_t>(DecodeFixed64(value.data() + i + kMemberHashBytes));
    auto [it, inserted] = last_seen_.try_emplace(hash, Seen{second, false});
    if (!inserted) it->second.second = std::max(it->second.second, second);
    blob.newest = std::max(blob.newest, second);
  }
  // Rows come back in key order, which is not seq order ("10" < "9").
  blobs_.insert(std::upper_bound(blobs_.begin(), blobs_.end(), blob,
                                 [](const Blob& a, const Blob& b) { return a.seq < b.seq; }),
                blob);
  blob_entries_ += blob.entries;
  next_seq_ = std::max(next_seq_, seq + 1);
  return absl::OkStatus();
}

}  // namespace nsmd
