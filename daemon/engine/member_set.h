// MemberSet: the distinct members of a cell, as hashes, in two halves.
#ifndef NSMD_DAEMON_ENGINE_MEMBER_SET_H_
#define NSMD_DAEMON_ENGINE_MEMBER_SET_H_

#include <array>
#include <cstddef>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"

namespace nsmd {

// A set of 128-bit member hashes (HashMember), split by the hash's top bit
// into two flat tables. One event touches one half, as it would one table;
// the split lets a restart fill a large set on two cores (InsertAll), the
// largest part of loading 10 million members. Thread-compatible.
class MemberSet {
 public:
  // Below this many hashes InsertAll stays on the calling thread (starting
  // a thread would cost more than it saves).
  static constexpr size_t kParallelInsertMin = size_t{1} << 20;

  // Adds `hash`; true if it was not in the set.
  bool Insert(absl::uint128 hash) { return halves_[HalfOf(hash)].insert(hash).second; }

  // Starts loading the slot Insert(hash) probes (no effect on results).
  void Prefetch(absl::uint128 hash) const { halves_[HalfOf(hash)].prefetch(hash); }

  // Members held.
  size_t size() const { return halves_[0].size() + halves_[1].size(); }

  // Adds every hash of `chunks` (repeats are fine), each half sized once
  // for them; with at least kParallelInsertMin hashes, one half is filled on
  // a second thread while the caller fills the other (on the caller's alone
  // if no thread can be started). Chunks (one per state row, as restored)
  // spare the copying and page faults of one ever-growing vector.
  void InsertAll(const std::vector<std::vector<absl::uint128>>& chunks);

 private:
  static size_t HalfOf(absl::uint128 hash) { return absl::Uint128High64(hash) >> 63; }
  // Inserts the hashes of half `half`, loading each slot a few of them ahead.
  void InsertHalf(const std::vector<std::vector<absl::uint128>>& chunks, size_t half);

  std::array<absl::flat_hash_set<absl::uint128>, 2> halves_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_MEMBER_SET_H_
