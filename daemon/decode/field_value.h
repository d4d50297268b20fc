// FieldValue: one value read out of an event's JSON, as the engine sees it.
#ifndef NSMD_DAEMON_DECODE_FIELD_VALUE_H_
#define NSMD_DAEMON_DECODE_FIELD_VALUE_H_

#include <cstdint>
#include <string>

#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"

namespace nsmd {

// A JSON scalar (or a marker for a missing/composite value) read from an event.
// String views point into the decoder's buffer and stay valid until the next
// call to EventDecoder::Decode on the same decoder. Cheap to copy.
struct FieldValue {
  enum class Kind : uint8_t {
    kMissing,  // path not present in the event
    kNull,     // JSON null
    kBool,
    kNumber,  // any JSON number, held as double
    kString,
    kComposite,  // an object or array: present, but not a scalar
  };

  Kind kind = Kind::kMissing;
  bool boolean = false;
  bool key_hashed = false;  // key_hash holds HashKeyText(KeyText())
  double number = 0;
  absl::string_view str;
  // Set by the decoder for the fields it is told to hash
  // (EventDecoderOptions::hashed_fields) when IsKey(); read through KeyHash().
  absl::uint128 key_hash = 0;

  static FieldValue Missing() { return FieldValue{}; }
  static FieldValue Null() { return FieldValue{Kind::kNull, false, false, 0, {}, 0}; }
  static FieldValue Bool(bool b) { return FieldValue{Kind::kBool, b, false, 0, {}, 0}; }
  static FieldValue Number(double d) { return FieldValue{Kind::kNumber, false, false, d, {}, 0}; }
  static FieldValue String(absl::string_view s) {
    return FieldValue{Kind::kString, false, false, 0, s, 0};
  }
  static FieldValue Composite() { return FieldValue{Kind::kComposite, false, false, 0, {}, 0}; }

  // True for a value that can name a member or entity (string, number, bool).
  bool IsKey() const {
    return kind == Kind::kString || kind == Kind::kNumber || kind == Kind::kBool;
  }

  // Canonical text of a key value: strings as-is, numbers in shortest
  // round-trip form ("42", "1.5"), booleans "true"/"false". Empty for others.
  std::string KeyText() const;

  // Appends KeyText() to *out without a temporary.
  void AppendKeyText(std::string* out) const;

  // HashKeyText(KeyText()) (key_hash.h): the decoder's, if it computed it,
  // else computed now. For a key value (IsKey()).
  absl::uint128 KeyHash() const;

  // Computes key_hash (for a key value; otherwise clears it), using
  // *scratch for the text of a number or bool.
  void SetKeyHash(std::string* scratch);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_FIELD_VALUE_H_
