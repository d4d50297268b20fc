// StateKey: how the engine names its rows in the state store.
//
// Every engine key is one of
//   "s/" <source>                                   stream time of a source
//   "x/" ...                                        applied event ids (DedupIndex; see there)
//   "m/" <metric> "/" <fingerprint> "/" <components> a metric's state
// where <components> are NUL-separated, escaped strings (see EncodeComponent),
// the first naming the row kind:
//   c  <window> <group>                  -> scalar (count or sum) of a cell
//   dh <window> <group> <seq>            -> members a distinct cell gained in one
//                                           checkpoint: n x 16-byte hash
//   e  <window> <group> <entity>         -> aggregate (count or sum) of an entity
//   emh <window> <group> <seq>           -> entity members a cell gained in one
//                                           checkpoint: repeated {fixed32 entity
//                                           length, entity, 16-byte hash}
//   rb <group> <second>                  -> scalar of a rolling bucket
//   rdh <group> <seq>                    -> members of a rolling distinct count
//                                           whose last-seen second moved in one
//                                           checkpoint: repeated {16-byte hash,
//                                           fixed64 second} (RollingMembers)
//   a  <entity>                          -> anchor time (ms) of a cohort entity
//   p  <entity> <time_ms> <seq>          -> a pending contribution (see Contribution)
// Windows and times are decimal int64 milliseconds; seconds decimal int64;
// <seq> a cell's blob counter, decimal. Values are decimal text (doubles in
// shortest round-trip form), except the binary dh/emh/rdh blobs: a member there
// is its XXH3-128 hash, little-endian (low 64 bits, then high 64 bits),
// fixed32 is little-endian; see MeasureCell. A cell's dh, e and emh rows are
// deleted by prefix (kind, window, group) when its window expires.
// (Format version 1 had a row per member: "d" and "em"; version 2 a row per
// rolling member, "rd". Neither is read any more.)
#ifndef NSMD_DAEMON_ENGINE_STATE_KEY_H_
#define NSMD_DAEMON_ENGINE_STATE_KEY_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace nsmd {

// Builds keys for one metric. Cheap to copy.
class StateKey {
 public:
  // `prefix` is "m/<metric>/<fingerprint>/".
  explicit StateKey(std::string prefix) : prefix_(std::move(prefix)) {}

  // The metric's prefix; every key of the metric starts with it.
  const std::string& prefix() const { return prefix_; }

  // prefix + the escaped, NUL-joined components.
  std::string Make(std::initializer_list<absl::string_view> components) const;

  // Splits the part of `key` after the prefix into components. Returns false
  // if `key` does not start with the prefix or is malformed.
  bool Parse(absl::string_view key, std::vector<std::string>* components) const;

 private:
  std::string prefix_;
};

// "m/<metric>/<fingerprint>/".
std::string MetricKeyPrefix(absl::string_view metric, absl::string_view fingerprint);

// "s/<source>".
std::string SourceKey(absl::string_view source);

// Decimal text of a double that parses back to the same value.
std::string FormatDouble(double value);
// Parses FormatDouble's output (or any decimal); false on garbage.
bool ParseDouble(absl::string_view text, double* value);
// Parses a decimal int64; false on garbage.
bool ParseInt64(absl::string_view text, int64_t* value);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_STATE_KEY_H_
