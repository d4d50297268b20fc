// Internal to daemon/decode: one validating pass over a JSON message that
// captures the values at the paths of a JsonPathTree.
#ifndef NSMD_DAEMON_DECODE_JSON_WALKER_INTERNAL_H_
#define NSMD_DAEMON_DECODE_JSON_WALKER_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "daemon/decode/json_path_tree_internal.h"
#include "simdjson.h"

namespace nsmd {
namespace decode_internal {

// What a configured path held in the current message.
enum class JsonKind : uint8_t {
  kMissing,
  kNull,
  kBool,
  kInt64,   // an integer that fits int64_t
  kUint64,  // an integer above INT64_MAX that fits uint64_t
  kDouble,  // a number with a fraction or exponent
  kString,
  kObject,
  kArray,
};

// "a string", "an object", ... for error messages.
const char* KindName(JsonKind kind);

// The value captured at one configured path.
struct JsonValue {
  JsonKind kind = JsonKind::kMissing;
  bool boolean = false;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  double dbl = 0;
  absl::string_view str;  // kString: into the padded buffer or the parser's string buffer

  // Present and not null.
  bool present() const { return kind != JsonKind::kMissing && kind != JsonKind::kNull; }
};

// Walks a whole message once with simdjson On-Demand, depth first: an
// object member whose key is a child of the current tree node is followed,
// its value captured into the child's slot; everything else is walked
// without capturing.
//
// Validation: On-Demand checks only what is read, so the walk reads every
// value to keep the contract of a full parse. Stage 1 (run on the whole
// message by iterate()) checks UTF-8, string boundaries and unescaped control
// characters; the walk checks the structure (brackets, commas, colons,
// depth), parses every number (so "01", "1e999" and integers beyond 64 bits
// are errors), checks every true/false/null atom, unescapes every string or
// key that holds a backslash (so bad escapes and lone surrogates are
// errors), and finally requires nothing after the root value.
//
// Strings without escapes are viewed in place in the padded buffer; escaped
// ones are unescaped into the parser's string buffer. Both stay valid until
// the next Walk(). Once the buffers have grown to the largest message seen,
// a walk allocates nothing. Not thread-safe.
class JsonWalker {
 public:
  // Captures the paths of `tree` (sealed). Buffers start at
  // `initial_capacity` bytes and grow (once) for larger messages.
  JsonWalker(JsonPathTree tree, size_t initial_capacity);

  // Walks `json`: on success sets *root_kind to the kind of its root value
  // and every slot to what its path holds (kMissing where nothing). Returns
  // simdjson's error for a message that is not JSON.
  simdjson::error_code Walk(absl::string_view json, JsonKind* root_kind);

  // What slot `i` (a JsonPathTree slot) held in the last message.
  const JsonValue& slot(int i) const { return slots_[static_cast<size_t>(i)]; }

 private:
  // Walks a whole value; with node >= 0, captures the value into the node's
  // slot and follows its children. `depth` is the nesting depth of the value
  // (the root is 1).
  simdjson::error_code WalkValue(simdjson::ondemand::value& value, int node, int depth);
  simdjson::error_code WalkObject(simdjson::ondemand::object& object, int node, int depth);
  simdjson::error_code WalkArray(simdjson::ondemand::array& array, int node, int depth);
  simdjson::error_code WalkString(simdjson::ondemand::value& value, JsonValue* out);
  // Walks the document in buffer_; sets *root_kind to the kind of its root.
  simdjson::error_code WalkDocument(size_t size, JsonKind* root_kind);

  JsonPathTree tree_;
  std::unique_ptr<char[]> buffer_;  // the message, then SIMDJSON_PADDING bytes
  size_t buffer_capacity_ = 0;
  simdjson::ondemand::parser parser_;
  std::vector<JsonValue> slots_;
  uint64_t generation_ = 0;
  bool has_backslash_ = false;  // the current message holds a backslash somewhere
};

}  // namespace decode_internal
}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_JSON_WALKER_INTERNAL_H_
