// Fixed-width little-endian integers in state rows (as LevelDB's
// util/coding.h): the byte order of the blobs DedupIndex and MeasureCell
// persist, the same on every host.
#ifndef NSMD_DAEMON_ENGINE_FIXED_ENCODING_H_
#define NSMD_DAEMON_ENGINE_FIXED_ENCODING_H_

#include <cstdint>

namespace nsmd {

// Writes `value` into dst[0..3], least significant byte first.
inline void EncodeFixed32(char* dst, uint32_t value) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(value >> (8 * i));
}

// Writes `value` into dst[0..7], least significant byte first.
inline void EncodeFixed64(char* dst, uint64_t value) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(value >> (8 * i));
}

// Reads what EncodeFixed32 wrote at src[0..3].
inline uint32_t DecodeFixed32(const char* src) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= static_cast<uint32_t>(static_cast<unsigned char>(src[i])) << (8 * i);
  }
  return value;
}

// Reads what EncodeFixed64 wrote at src[0..7].
inline uint64_t DecodeFixed64(const char* src) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(src[i])) << (8 * i);
  }
  return value;
}

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_FIXED_ENCODING_H_
