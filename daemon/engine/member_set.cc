#include "daemon/engine/member_set.h"

#include <system_error>
#include <thread>

namespace nsmd {

void MemberSet::InsertAll(const std::vector<std::vector<absl::uint128>>& chunks) {
  std::array<size_t, 2> counts = {0, 0};
  for (const std::vector<absl::uint128>& chunk : chunks) {
    for (const absl::uint128& h : chunk) ++counts[HalfOf(h)];
  }
  if (counts[0] + counts[1] == 0) return;
  for (size_t half = 0; half < 2; ++half) {
    halves_[half].reserve(halves_[half].size() + counts[half]);
  }
  if (counts[0] + counts[1] >= kParallelInsertMin) {
    try {
      std::thread second([this, &chunks] { InsertHalf(chunks, 1); });
      InsertHalf(chunks, 0);
      second.join();
      return;
    } catch (const std::system_error&) {
      // No thread: both halves on this one (InsertHalf(.., 0) has not run).
    }
  }
  InsertHalf(chunks, 0);
  InsertHalf(chunks, 1);
}

void MemberSet::InsertHalf(const std::vector<std::vector<absl::uint128>>& chunks, size_t half) {
  absl::flat_hash_set<absl::uint128>& table = halves_[half];
  // Each insert probes a random slot of a table of up to hundreds of MiB:
  // start loading the slot of a hash this far ahead in its chunk (about
  // half of them are this half's), so that the misses overlap.
  constexpr size_t kAhead = 16;
  for (const std::vector<absl::uint128>& chunk : chunks) {
    const size_t n = chunk.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n && HalfOf(chunk[i + kAhead]) == half) table.prefetch(chunk[i + kAhead]);
      if (HalfOf(chunk[i]) == half) table.insert(chunk[i]);
    }
  }
}

}  // namespace nsmd
