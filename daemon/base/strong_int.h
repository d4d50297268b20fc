// StrongInt: an integer that names one kind of thing (a partition number,
// an offset) and does not mix with another.
#ifndef NSMD_DAEMON_BASE_STRONG_INT_H_
#define NSMD_DAEMON_BASE_STRONG_INT_H_

#include <compare>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nsmd {

// The base of such a type, in the style of Redpanda's named_type:
//   class PartitionId : public StrongInt<PartitionId, int32_t> {
//    public:
//     using StrongInt::StrongInt;
//   };
// Built only explicitly from the integer and never converted back
// implicitly; compared, hashed (absl::Hash) and printed (absl::StrFormat
// "%d"; absl::StrCat with an Abseil that has AbslStringify, from 20230125)
// as the integer. Trivially copyable, the size of `Int`.
template <typename Derived, typename Int>
class StrongInt {
 public:
  // Zero.
  constexpr StrongInt() = default;
  // `value`.
  constexpr explicit StrongInt(Int value) : value_(value) {}

  // The integer.
  constexpr Int value() const { return value_; }

  // Compare as the integers.
  friend constexpr bool operator==(Derived a, Derived b) { return a.value() == b.value(); }
  friend constexpr auto operator<=>(Derived a, Derived b) { return a.value() <=> b.value(); }

  // Hashes as the integer (absl::Hash, absl::flat_hash_map keys).
  template <typename H>
  friend H AbslHashValue(H h, Derived d) {
    return H::combine(std::move(h), d.value());
  }

  // Writes the integer, e.g. "3".
  template <typename Sink>
  friend void AbslStringify(Sink& sink, Derived d) {
    sink.Append(absl::AlphaNum(d.value()).Piece());
  }

  // Formats the integer for absl::StrFormat "%d" (width and the '-' flag
  // honoured).
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::d> AbslFormatConvert(
      Derived d, const absl::FormatConversionSpec& spec, absl::FormatSink* sink) {
    sink->PutPaddedString(absl::AlphaNum(d.value()).Piece(), spec.width(), -1,
                          spec.has_left_flag());
    return {true};
  }

 private:
  Int value_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_STRONG_INT_H_
