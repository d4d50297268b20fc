// FieldValue: one value read out of an event's JSON, as the engine sees it.
#ifndef NSMD_DAEMON_DECODE_FIELD_VALUE_H_
#define NSMD_DAEMON_DECODE_FIELD_VALUE_H_

#include <cstdint>
#include <string>
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
    kNumber,   // any JSON number, held as double
    kString,
    kComposite,  // an object or array: present, but not a scalar
  };

  Kind kind = Kind::kMissing;
  bool boolean = false;
  double number = 0;
  absl::string_view str;

  static FieldValue Missing() { return FieldValue{}; }
  static FieldValue Null() { return FieldValue{Kind::kNull, false, 0, {}}; }
  static FieldValue Bool(bool b) { return FieldValue{Kind::kBool, b, 0, {}}; }
  static FieldValue Number(double d) { return FieldValue{Kind::kNumber, false, d, {}}; }
  static FieldValue String(absl::string_view s) {
    return FieldValue{Kind::kString, false, 0, s};
  }
  static FieldValue Composite() { return FieldValue{Kind::kComposite, false, 0, {}}; }

  // True for a value that can name a member or entity (string, number, bool).
  bool IsKey() const {
    return kind == Kind::kString || kind == Kind::kNumber || kind == Kind::kBool;
  }

  // Canonical text of a key value: strings as-is, numbers in shortest
  // round-trip form ("42", "1.5"), booleans "true"/"false". Empty for others.
  std::string KeyText() const;

  // Appends KeyText() to *out without a temporary.
  void AppendKeyText(std::string* out) const;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_FIELD_VALUE_H_
