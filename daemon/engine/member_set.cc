#include "daemon/engine/member_set.h"

#include <system_error>
#include <thread>

namespace nsmd {

void MemberSet::InsertAll(const std::vector<absl::uint128>& hashes) {
  if (hashes.empty()) return;
  std::array<size_t, 2> counts = {0, 0};
  for (const absl::uint128& h : hashes) ++counts[HalfOf(h)];
  for (size_t half = 0; half < 2; ++half) {
    halves_[half].reserve(halves_[half].size() + counts[half]);
  }
  if (hashes.size() >= kParallelInsertMin) {
    try {
      std::thread second([this, &hashes] { InsertHalf(hashes, 1); });
      InsertHalf(hashes, 0);
      second.join();
      return;
    } catch (const std::system_error&) {
      // No thread: both halves on this one (InsertHalf(.., 0) has not run).
    }
  }
  InsertHalf(hashes, 0);
  InsertHalf(hashes, 1);
}

void MemberSet::InsertHalf(const std::vector<absl::uint128>& hashes, size_t half) {
  absl::flat_hash_set<absl::uint128>& table = halves_[half];
  // Each insert probes a random slot of a table of up to hundreds of MiB:
  // start loading the slot of a hash this far ahead (about half of them are
  // this half's), so that the misses overlap.
  constexpr size_t kAhead = 16;
  const size_t n = hashes.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n && HalfOf(hashes[i + kAhead]) == half) table.prefetch(hashes[i + kAhead]);
    if (HalfOf(hashes[i]) == half) table.insert(hashes[i]);
  }
}

}  // namespace nsmd
