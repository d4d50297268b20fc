// HashKeyText: the 128-bit hash by which a key value (a distinct member, an event
// id) is held in memory and in state blobs.
#ifndef NSMD_DAEMON_DECODE_KEY_HASH_H_
#define NSMD_DAEMON_DECODE_KEY_HASH_H_

#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"
// XXH3 compiled inline (the same functions as libxxhash's, so the same
// hashes): keys are short, and a call into the shared library cost more than
// hashing one.
#define XXH_INLINE_ALL
#include "xxhash.h"

namespace nsmd {

// XXH3-128 of a key's canonical text (FieldValue::KeyText). The decoder
// computes it once per event for the fields the engine counts as members and
// for the event id (FieldValue::KeyHash, Event::IdHash); the engine's tables
// and state blobs hold it (member_hash.h). Two different keys collide with a
// chance of about n^2 / 2^129 for n of them, i.e. never in practice.
inline absl::uint128 HashKeyText(absl::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return absl::MakeUint128(h.high64, h.low64);
}

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_KEY_HASH_H_
