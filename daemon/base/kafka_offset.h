// KafkaOffset: the position of a message within a Kafka partition.
#ifndef NSMD_DAEMON_BASE_KAFKA_OFFSET_H_
#define NSMD_DAEMON_BASE_KAFKA_OFFSET_H_

#include <compare>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nsmd {

// An offset in a partition (0, 1, ...): of a message, or the next one to
// read. A strong type over int64_t: built only explicitly from the integer,
// it is not mixed up with a partition, a count or a time. Where there may be
// no offset, use std::optional<KafkaOffset> rather than a -1. Trivially
// copyable, the size of an int64_t.
class KafkaOffset {
 public:
  // Offset 0.
  constexpr KafkaOffset() = default;
  // Offset `value`.
  constexpr explicit KafkaOffset(int64_t value) : value_(value) {}

  // The offset as Kafka numbers it.
  constexpr int64_t value() const { return value_; }

  // The offset after this one: where to read on once this message is
  // applied.
  constexpr KafkaOffset Next() const { return KafkaOffset(value_ + 1); }

  // Compares the offsets.
  friend constexpr bool operator==(const KafkaOffset&, const KafkaOffset&) = default;
  friend constexpr auto operator<=>(const KafkaOffset&, const KafkaOffset&) = default;

  // Hashes as the offset (absl::Hash, absl::flat_hash_map keys).
  template <typename H>
  friend H AbslHashValue(H h, KafkaOffset o) {
    return H::combine(std::move(h), o.value_);
  }

  // Writes the offset, e.g. "42" (absl::StrCat and absl::StrFormat "%v" with
  // an Abseil that supports AbslStringify, from 20230125).
  template <typename Sink>
  friend void AbslStringify(Sink& sink, KafkaOffset o) {
    sink.Append(absl::AlphaNum(o.value_).Piece());
  }

  // Formats the offset for absl::StrFormat "%d" (width and the '-' flag
  // honoured).
  friend absl::FormatConvertResult<absl::FormatConversionCharSet::d> AbslFormatConvert(
      KafkaOffset o, const absl::FormatConversionSpec& spec, absl::FormatSink* sink) {
    sink->PutPaddedString(absl::AlphaNum(o.value_).Piece(), spec.width(), -1, spec.has_left_flag());
    return {true};
  }

 private:
  int64_t value_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_BASE_KAFKA_OFFSET_H_
