// MemberHash: how distinct members are held in memory and in state blobs.
#ifndef NSMD_DAEMON_ENGINE_MEMBER_HASH_H_
#define NSMD_DAEMON_ENGINE_MEMBER_HASH_H_

#include <cstddef>
#include <string>

#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"
#include "daemon/decode/key_hash.h"
#include "daemon/engine/fixed_encoding.h"

namespace nsmd {

// A distinct member (a user id, ...) is its 128-bit XXH3 hash, and so is an
// event id in DedupIndex: HashKeyText (key_hash.h), which the decoder has
// usually computed already (FieldValue::KeyHash, Event::IdHash). A collision
// (about n^2 / 2^129 for n members: never in practice) would undercount by one.
inline absl::uint128 HashMember(absl::string_view member) { return HashKeyText(member); }

// The key of member `member_hash` (a HashMember) of entity `entity` in the
// one table an entities cell keeps for the members of all its entities: the
// entity's hash under another seed, XORed with the member's. The two hash
// functions differ, so (entity, member) pairs collide only by chance, as
// members do (team "a" with user "b" and team "b" with user "a" differ).
inline absl::uint128 EntityMemberKey(absl::string_view entity, absl::uint128 member_hash) {
  constexpr XXH64_hash_t kEntitySeed = 0x6e736d64;  // "nsmd"
  const XXH128_hash_t h = XXH3_128bits_withSeed(entity.data(), entity.size(), kEntitySeed);
  return absl::MakeUint128(h.high64, h.low64) ^ member_hash;
}

// Bytes of a hash in a blob.
inline constexpr size_t kMemberHashBytes = 16;

// Appends the 16-byte little-endian form (low 64 bits first, then high).
inline void AppendMemberHash(absl::uint128 hash, std::string* out) {
  char buf[kMemberHashBytes];
  EncodeFixed64(buf, absl::Uint128Low64(hash));
  EncodeFixed64(buf + 8, absl::Uint128High64(hash));
  out->append(buf, sizeof buf);
}

// Reads what AppendMemberHash wrote at `p` (16 bytes).
inline absl::uint128 LoadMemberHash(const char* p) {
  return absl::MakeUint128(DecodeFixed64(p + 8), DecodeFixed64(p));
}

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_MEMBER_HASH_H_
