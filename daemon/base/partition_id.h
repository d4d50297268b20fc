// PartitionId: the number of a partition within a Kafka topic.
#ifndef NSMD_DAEMON_BASE_PARTITION_ID_H_
#define NSMD_DAEMON_BASE_PARTITION_ID_H_

#include <compare>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nsmd {

// A partition number, as Kafka numbers them (0, 1, ...). A strong type over
// int32_t: built only explicitly from the integer, it is not mixed up with
// an offset, a count or a source index. Trivially copyable, the size of an
// int32_t.
class PartitionId {
 public:
  // Partition 0.
  constexpr PartitionId() = default;
  // Partition `value`.
  constexpr explicit PartitionId(int32_t value) : value_(value) {}

  // The partition number.
  constexpr int32_t value() const { return value_; }

  // Compares the partition numbers.
  friend constexpr bool operator==(const PartitionId&, const PartitionId&) = default;
  friend constexpr auto operator<=>(const PartitionId&, const PartitionId&) = default;

  // Hashes as the partition number (absl::Hash, absl::flat_hash_map keys).
  template <typename H>
  friend H AbslHashValue(H h, PartitionId p) {
    return H::combine(std::move(h), p.value_);
  }

  // Writes the partition number, e.g. "3" (absl::StrCat and absl::StrFormat
  // "%v" with an Abseil that supports AbslStringify, from 20230125).
  template <typename Sink>
  friend void AbslStringify(Sink& sink, PartitionId p) {
    sink.Append(absl::AlphaNum(p.value_).Piece());
  }

  // Formats the partition number for absl::StrFormat "%d" (width and the
  // '-' flag honoured).
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::d> AbslFormatConvert(
      PartitionId p, const absl::FormatConversionSpec& spec, absl::FormatSink* sink) {
    sink->PutPaddedString(absl::AlphaNum(p.value_).Piece(), spec.width(), -1, spec.has_left_flag());
    return {true};
  }

 private:
  int32_t value_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_PARTITION_ID_H_
