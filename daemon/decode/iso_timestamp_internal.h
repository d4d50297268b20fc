// Internal to daemon/decode: the allocation-free core of ParseIsoTimestamp.
#ifndef NSMD_DAEMON_DECODE_ISO_TIMESTAMP_INTERNAL_H_
#define NSMD_DAEMON_DECODE_ISO_TIMESTAMP_INTERNAL_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace nsmd {
namespace decode_internal {

// Parses `text` like nsmd::ParseIsoTimestamp, into epoch milliseconds.
// Returns nullptr and sets *ms on success; otherwise returns a static,
// human-readable reason ("month out of range") and leaves *ms unchanged.
// Never allocates.
const char* ParseIsoTimestamp(absl::string_view text, int64_t* ms);

// Quotes at most the first 64 bytes of `text` for an error message, with
// non-printable bytes hex-escaped and "..." marking a cut.
std::string QuoteForError(absl::string_view text);

}  // namespace decode_internal
}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_ISO_TIMESTAMP_INTERNAL_H_
