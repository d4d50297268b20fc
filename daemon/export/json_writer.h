// JsonWriter: a minimal streaming JSON text writer.
#ifndef NSMD_DAEMON_EXPORT_JSON_WRITER_H_
#define NSMD_DAEMON_EXPORT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace nsmd {

// Appends compact JSON (no whitespace) to an internal string, inserting the
// commas and colons itself. The caller is responsible for the structure:
// inside an object every value must be preceded by Key(), and every Begin*
// must be matched by its End*; misuse produces invalid JSON rather than an
// error. Strings are copied byte for byte except for the escapes JSON
// requires (`"`, `\`, control characters); UTF-8 is not validated.
//
// Not thread-safe; one writer per document.
//
// Example:
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("name");
//   w.String("wau");
//   w.Key("values");
//   w.BeginArray();
//   w.Number(1.5);
//   w.Int(7);
//   w.EndArray();
//   w.EndObject();
//   w.Take();  // {"name":"wau","values":[1.5,7]}
class JsonWriter {
 public:
  JsonWriter() = default;

  // Opens `{`.
  void BeginObject();
  // Closes the innermost object with `}`.
  void EndObject();
  // Opens `[`.
  void BeginArray();
  // Closes the innermost array with `]`.
  void EndArray();

  // Writes an object member name followed by `:`; the next call writes its
  // value.
  void Key(absl::string_view key);

  // Writes a string value, escaping `"` and `\` and writing control
  // characters as \b \f \n \r \t or \u00XX.
  void String(absl::string_view value);

  // Writes a number. Integral values below 1e21 in magnitude are written
  // without fraction or exponent (2.0 -> 2, 1e20 -> 100000000000000000000,
  // -0.0 -> 0); others in the shortest form that reads back to the same
  // double (0.1 -> 0.1, 1e-7 -> 1e-07, 1e300 -> 1e+300). NaN and infinities
  // have no JSON spelling and are written as null.
  void Number(double value);

  // Writes an integer exactly.
  void Int(int64_t value);

  // Writes true or false.
  void Bool(bool value);

  // Writes null.
  void Null();

  // Returns the text written so far and resets the writer for a new
  // document.
  std::string Take();

 private:
  // Writes the separator a new value or key needs at the current position.
  void BeforeValue();
  void Open(char c);
  void Close(char c);

  std::string out_;
  // One entry per open container: true until its first element is written.
  std::vector<bool> first_;
  // A Key() was just written; the next value follows its colon directly.
  bool after_key_ = false;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_JSON_WRITER_H_
