// RollingMembers: when each member of a rolling distinct count was last seen.
#ifndef NSMD_DAEMON_ENGINE_ROLLING_MEMBERS_H_
#define NSMD_DAEMON_ENGINE_ROLLING_MEMBERS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/engine/state_key.h"
#include "daemon/state/state_delta.h"

namespace nsmd {

// The members of one rolling distinct series (a metric and group) with the
// last second each was seen, so the count over (T - length, T] is the members
// seen inside it. Members are held as their 128-bit hash (member_hash.h).
// Thread-compatible.
//
// Persistence: the members whose second moved since the last checkpoint are
// written as ONE blob row per checkpoint, not a row each (a busy topic
// touches tens of thousands of members a second):
//   "rdh" <group> <seq> -> repeated {16-byte member hash, fixed64 second}
// A member re-seen later is in several blobs; restoring keeps its newest
// second. A blob is deleted once its newest second has left the window
// (then every entry in it has), and when the blobs hold more than twice the
// live members (plus kCompactionSlack) they are replaced by one blob of the
// live members in the same checkpoint (a prefix deletion of the group's
// blobs, then the new blob), so the rows stay within about twice the live
// state.
class RollingMembers {
 public:
  // Entries the blobs may hold beyond twice the live members before they
  // are compacted.
  static constexpr size_t kCompactionSlack = 4096;

  // Records that the member of hash `member_hash` (HashMember) was seen at
  // `second`. Returns true if that moved its last-seen second (a change to
  // write back), false if it had been seen at `second` or later already.
  bool Add(absl::uint128 member_hash, int64_t second);

  // Starts loading the slot Add(member_hash, ...) will probe. Results do not
  // depend on it.
  void Prefetch(absl::uint128 member_hash) const;

  // Members last seen in [oldest, newest] (seconds).
  int64_t CountBetween(int64_t oldest, int64_t newest) const;

  // Records the changes since the last call in *delta: one blob row under
  // key.Make({"rdh", group, <seq>}), or the compaction described above.
  void WriteChanges(const StateKey& key, const std::string& group, StateDelta* delta);

  // Forgets members last seen before `oldest_second` and records the
  // deletion of blob rows whose every entry is older. Call after
  // WriteChanges (a pending change of a forgotten member is dropped).
  void Expire(int64_t oldest_second, const StateKey& key, const std::string& group,
              StateDelta* delta);

  // Re-applies one persisted blob row whose last key component is `seq`.
  // DataLoss if malformed.
  [[nodiscard]] absl::Status Restore(absl::string_view seq, absl::string_view value);

  // Members held (some may be older than the window until Expire).
  size_t size() const { return last_seen_.size(); }
  // Entries in the persisted blobs, live or superseded.
  size_t blob_entries() const { return blob_entries_; }

 private:
  struct Seen {
    int64_t second = 0;
    bool dirty = false;  // in dirty_
  };
  struct Blob {
    uint64_t seq = 0;
    int64_t newest = 0;  // newest second in it
    size_t entries = 0;
  };
  // Appends one {hash, second} entry to *blob.
  static void AppendEntry(absl::uint128 hash, int64_t second, std::string* blob);

  absl::flat_hash_map<absl::uint128, Seen> last_seen_;
  std::vector<absl::uint128> dirty_;  // members whose second moved, unwritten
  std::vector<Blob> blobs_;           // persisted, in seq order
  size_t blob_entries_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_ROLLING_MEMBERS_H_
