// EventDecoder: one simdjson On-Demand parser, reused for every message.
//
// Every configured path (name, time, id, user, user fallbacks, groups,
// catalog fields) is split at its dots into a tree at construction: one node
// per distinct path prefix, children keyed by the next segment, and a "slot"
// on each node where a configured path ends (paths named twice share one).
// Decode() copies the message into a padded buffer the decoder owns (Kafka
// payloads have no SIMDJSON_PADDING bytes after them), then walks the whole
// document once with On-Demand, depth first: an object member whose key is a
// child of the current node is followed, its value captured into the child's
// slot; everything else is walked without capturing. The format's rules
// (name, time, id, user and group checks, fields) then read the slots.
//
// The lookup semantics are those of the JSON pointers the decoder used to
// resolve ("properties.items.0" as "/properties/items/0"):
//   - a segment matches an object member by its unescaped key, and the first
//     member with that key wins (later duplicates are walked, not captured);
//   - against an array, a segment that is a decimal index without leading
//     zeros ("0", "12"; not "01" or "x") selects that element;
//   - a path running through a scalar is missing.
//
// Validation: On-Demand checks only what is read, so the walk reads every
// value to keep the invalid_json contract of a full parse. Stage 1 (run on
// the whole message by iterate()) checks UTF-8, string boundaries and
// unescaped control characters; the walk checks the structure (brackets,
// commas, colons, depth), parses every number (so "01", "1e999" and integers
// beyond 64 bits are errors), checks every true/false/null atom, unescapes
// every string or key that holds a backslash (so bad escapes and lone
// surrogates are errors), and finally requires nothing after the root value.
//
// Strings without escapes are viewed in place in the padded buffer; escaped
// ones are unescaped into the parser's string buffer. Both stay valid until
// the next Decode(). Once the buffers have grown to the largest message seen,
// a decode allocates nothing; only rejections build an error message.
//
// Performance notes: stage 1 runs simdjson's runtime-dispatched SIMD kernel;
// the On-Demand walk itself is header code compiled for simdjson's builtin
// implementation, which without -march flags is the portable "fallback" one.
// The decode micro-benchmark (benchmarks/pipeline_benchmark) went from about
// 530 ns to 300 ns per saas event with this design (the DOM parser with
// at_pointer lookups, minus its per-event allocation, took about 400 ns).
#include "daemon/decode/event_decoder.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "daemon/decode/iso_timestamp_internal.h"
#include "simdjson.h"

namespace nsmd {
namespace {

namespace ondemand = simdjson::ondemand;
using decode_internal::QuoteForError;
using simdjson::error_code;

// 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. The upper bound is
// 2932897 days (1970-01-01 to 10000-01-01: 8030 years of 365 days plus 1947
// leap days) * 86400 s - 1 ms.
constexpr int64_t kMinTimeMs = 0;
constexpr int64_t kMaxTimeMs = int64_t{2932897} * 86400 * 1000 - 1;

// Initial buffer and parser capacity: enough for typical events.
constexpr size_t kInitialCapacity = 64 * 1024;

// Deepest nesting accepted, as by simdjson's DOM parser (DEFAULT_MAX_DEPTH,
// 1024): the root is at depth 1, its members or elements at depth 2, and a
// value (scalar or not) deeper than this is an error.
constexpr int kMaxDepth = static_cast<int>(simdjson::DEFAULT_MAX_DEPTH);

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

// "a string", "an object", ... for error messages.
const char* KindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kArray: return "an array";
    case JsonKind::kObject: return "an object";
    case JsonKind::kInt64:
    case JsonKind::kUint64: return "an integer";
    case JsonKind::kDouble: return "a fractional number";
    case JsonKind::kString: return "a string";
    case JsonKind::kBool: return "a bool";
    case JsonKind::kNull: return "null";
    case JsonKind::kMissing: break;
  }
  return "an unknown value";
}

// True for the types an id (message, user or group id) may have.
bool IsIdType(JsonKind kind) {
  return kind == JsonKind::kString || kind == JsonKind::kInt64 || kind == JsonKind::kUint64;
}

FieldValue ToFieldValue(const JsonValue& v) {
  switch (v.kind) {
    case JsonKind::kMissing: return FieldValue::Missing();
    case JsonKind::kNull: return FieldValue::Null();
    case JsonKind::kBool: return FieldValue::Bool(v.boolean);
    case JsonKind::kInt64: return FieldValue::Number(static_cast<double>(v.i64));
    case JsonKind::kUint64: return FieldValue::Number(static_cast<double>(v.u64));
    case JsonKind::kDouble: return FieldValue::Number(v.dbl);
    case JsonKind::kString: return FieldValue::String(v.str);
    case JsonKind::kObject:
    case JsonKind::kArray: return FieldValue::Composite();
  }
  return FieldValue::Missing();
}

// Stores a parsed number into *out. `token` is its JSON text (and whatever
// whitespace follows it).
void StoreNumber(ondemand::number n, std::string_view token, JsonValue* out) {
  switch (n.get_number_type()) {
    case ondemand::number_type::signed_integer:
      out->kind = JsonKind::kInt64;
      out->i64 = n.get_int64();
      return;
    case ondemand::number_type::unsigned_integer:
      out->kind = JsonKind::kUint64;
      out->u64 = n.get_uint64();
      return;
    case ondemand::number_type::floating_point_number: {
      out->kind = JsonKind::kDouble;
      out->dbl = n.get_double();
      // simdjson 3.0.1's On-Demand get_number() returns 0 for a number with
      // more than 19 significant digits (its slow path writes the double
      // into a copy of the result). Such numbers (and, to be safe, any with
      // 19 or more digits anywhere) are converted again with the function
      // that slow path uses, so the value is the DOM parser's. Rare in events.
      int digits = 0;
      for (char c : token) digits += c >= '0' && c <= '9';
      if (digits >= 19) out->dbl = simdjson::internal::from_chars(token.data());
      return;
    }
  }
}

// Parses the number `value` into *out (when not null), validating it.
error_code WalkNumber(ondemand::value& value, JsonValue* out) {
  const std::string_view token = value.raw_json_token();
  ondemand::number number;
  SIMDJSON_TRY(value.get_number().get(number));
  if (out != nullptr) StoreNumber(number, token, out);
  return simdjson::SUCCESS;
}

// The raw text of an object member's key: `key` points just after its
// opening quote and `value` at the first byte of its value. Only whitespace
// and the colon (both checked by On-Demand) lie between the key's closing
// quote and the value, so the quote is found walking back from the value.
absl::string_view RawKey(const char* key, const char* value) {
  const char* end = value - 1;
  while (*end != ':') --end;
  --end;
  while (*end != '"') --end;
  return absl::string_view(key, static_cast<size_t>(end - key));
}

// The first 16 bytes of a key, zero-padded, as two words: keys up to 16
// bytes compare in full with two integer comparisons.
struct KeyPrefix {
  uint64_t words[2] = {0, 0};

  // Reads 16 bytes from key.data(), which every key affords: it lies in the
  // padded message buffer or the parser's padded string buffer.
  static KeyPrefix Of(absl::string_view key) {
    KeyPrefix p;
    std::memcpy(p.words, key.data(), sizeof(p.words));
    if (key.size() < 8) {
      p.words[0] &= (uint64_t{1} << (8 * key.size())) - 1;
      p.words[1] = 0;
    } else if (key.size() < 16) {
      p.words[1] &= (uint64_t{1} << (8 * (key.size() - 8))) - 1;
    }
    return p;
  }
  bool operator==(const KeyPrefix& o) const {
    return words[0] == o.words[0] && words[1] == o.words[1];
  }
  // Which of a node's kChildBuckets buckets holds a key with this prefix
  // and `size`: a multiplicative hash of the first word and the size.
  size_t Bucket(size_t size) const {
    return static_cast<size_t>(((words[0] ^ size) * 0x9E3779B97F4A7C15ull) >>
                               (64 - kChildBucketBits));
  }
  static constexpr int kChildBucketBits = 4;
  static constexpr size_t kChildBuckets = size_t{1} << kChildBucketBits;
};

// The raw text between the quotes of a string value, given its token: from
// the opening quote up to the next token, so the closing quote is the last
// '"' (only whitespace can follow it).
absl::string_view StringTokenText(std::string_view token) {
  size_t end = token.size();
  while (end > 2 && token[end - 1] != '"') --end;
  return absl::string_view(token.data() + 1, end - 2);
}

// The array index a path segment stands for, as a JSON pointer resolves it
// against an array: decimal digits, no leading zero (except "0" itself);
// -1 for any other segment (it can only name an object member). Segments of
// more than 9 digits never match: no message holds that many elements.
int64_t ArrayIndex(absl::string_view segment) {
  if (segment.empty() || segment.size() > 9) return -1;
  if (segment.size() > 1 && segment[0] == '0') return -1;
  int64_t index = 0;
  for (char c : segment) {
    if (c < '0' || c > '9') return -1;
    index = index * 10 + (c - '0');
  }
  return index;
}

std::string QuotedList(const std::vector<std::string>& paths) {
  return absl::StrJoin(paths, " or ", [](std::string* out, const std::string& path) {
    absl::StrAppend(out, "\"", path, "\"");
  });
}

// A child of a PathNode, with its key's length and KeyPrefix at hand.
struct PathChild {
  KeyPrefix prefix;
  size_t size = 0;
  int node = 0;
};

// One distinct path prefix in the tree of configured paths.
struct PathNode {
  std::string key;      // the segment leading here: an object member's key
  int64_t index = -1;   // the same segment as an array index (ArrayIndex)
  int slot = -1;        // slot of the configured path ending here; -1 if none
  // Sorted by KeyPrefix::Bucket once every path is added (SortChildren):
  // the children in bucket b are children[bucket_start[b], bucket_start[b +
  // 1]), so a key is compared only with those of its bucket (Segment's root
  // has ten children; a bucket mostly holds one or none).
  std::vector<PathChild> children;
  std::vector<uint32_t> bucket_start;
  // The decode generation in which this node was last matched: the first
  // member with a key wins, as in a JSON pointer lookup.
  uint64_t matched = 0;
};

}  // namespace

struct EventDecoder::Impl {
  Impl(EventFormat f, const FieldCatalog* c, EventDecoderOptions o)
      : format(std::move(f)),
        catalog(c),
        max_message_bytes(o.max_message_bytes),
        max_future_skew(o.max_future_skew),
        now(o.now ? std::move(o.now) : std::function<absl::Time()>(absl::Now)) {
    const int n = c == nullptr ? 0 : c->size();
    for (FieldId id : o.hashed_fields) {
      if (id >= 0 && id < n) hashed_fields.push_back(id);
    }
  }

  // Adds `dotted` to the path tree and returns its slot.
  int AddPath(absl::string_view dotted);
  std::vector<int> AddPaths(const std::vector<std::string>& dotted);
  // Sorts every node's children into their buckets; after the last AddPath.
  void SortChildren();

  // The child of `node` for object key `key`, marked matched; -1 if none or
  // if an earlier member of this object already matched it.
  int KeyChild(int node, absl::string_view key);
  // The child of `node` for array element `index`; -1 if none.
  int IndexChild(int node, int64_t index) const;

  // Walks (and so validates) a whole value; with node >= 0, captures the
  // value into the node's slot and follows its children. `depth` is the
  // nesting depth of the value (the root is 1).
  error_code Walk(ondemand::value& value, int node, int depth);
  error_code WalkObject(ondemand::object& object, int node, int depth);
  error_code WalkArray(ondemand::array& array, int node, int depth);
  error_code WalkString(ondemand::value& value, JsonValue* out);
  // Walks the document in `buffer`; sets *root_kind to the kind of its root.
  error_code WalkDocument(size_t size, JsonKind* root_kind);

  absl::Status Reject(RejectReason r, RejectReason* reason, std::string message) const {
    *reason = r;
    return absl::InvalidArgumentError(std::move(message));
  }

  absl::Status DecodeName(RejectReason* reason);
  absl::Status DecodeTime(RejectReason* reason);
  // Rejects event.time_ms, decoded from `time`, if it is more than
  // max_future_skew ahead of now().
  absl::Status CheckFuture(const JsonValue& time, RejectReason* reason);
  absl::Status DecodeId(RejectReason* reason);
  absl::Status CheckUserAndGroup(RejectReason* reason) const;
  void DecodeFields();
  // Sets the id's hash and the key hashes of hashed_fields.
  void HashKeys();

  // Constant after construction.
  const EventFormat format;
  const FieldCatalog* const catalog;
  const size_t max_message_bytes;
  const absl::Duration max_future_skew;
  const std::function<absl::Time()> now;
  std::vector<PathNode> nodes;  // nodes[0] is the root object
  std::vector<int> name_slots;
  std::vector<int> time_slots;
  std::vector<int> id_slots;
  int user_slot = -1;  // -1: the format names no user path
  std::vector<int> user_fallback_slots;
  std::vector<int> group_slots;
  std::vector<int> field_slots;  // indexed by FieldId
  FieldId user_field = kNoField;
  std::vector<FieldId> hashed_fields;  // in the catalog's range

  // Reused by every Decode().
  std::unique_ptr<char[]> buffer;  // the message, then SIMDJSON_PADDING bytes
  size_t buffer_capacity = 0;
  ondemand::parser parser;
  std::vector<JsonValue> slots;
  std::string key_text;  // the text of a number or bool being hashed
  uint64_t generation = 0;
  bool has_backslash = false;  // the current message holds a backslash somewhere
  Event event;
  char id_text[24] = {};  // decimal text of an integer id
  // Event times up to this pass the future check without reading the clock:
  // the last wall-clock reading plus max_future_skew (see CheckFuture).
  int64_t future_bound_ms = std::numeric_limits<int64_t>::min();
};

int EventDecoder::Impl::AddPath(absl::string_view dotted) {
  int node = 0;
  for (absl::string_view segment : absl::StrSplit(dotted, '.')) {
    int next = -1;
    for (const PathChild& child : nodes[node].children) {
      if (nodes[child.node].key == segment) next = child.node;
    }
    if (next < 0) {
      next = static_cast<int>(nodes.size());
      PathNode added;
      added.key = std::string(segment);
      added.index = ArrayIndex(segment);
      nodes.push_back(std::move(added));
      PathChild child;
      // KeyPrefix::Of() reads 16 bytes: take them from a zero-padded copy.
      char padded[sizeof(KeyPrefix)] = {};
      const size_t head = std::min(segment.size(), sizeof(padded));
      std::memcpy(padded, segment.data(), head);
      child.prefix = KeyPrefix::Of(absl::string_view(padded, head));
      child.size = segment.size();
      child.node = next;
      nodes[node].children.push_back(child);
    }
    node = next;
  }
  if (nodes[node].slot < 0) {
    nodes[node].slot = static_cast<int>(slots.size());
    slots.emplace_back();
  }
  return nodes[node].slot;
}

std::vector<int> EventDecoder::Impl::AddPaths(const std::vector<std::string>& dotted) {
  std::vector<int> out;
  out.reserve(dotted.size());
  for (const std::string& path : dotted) out.push_back(AddPath(path));
  return out;
}

void EventDecoder::Impl::SortChildren() {
  for (PathNode& node : nodes) {
    auto bucket = [](const PathChild& child) { return child.prefix.Bucket(child.size); };
    std::stable_sort(node.children.begin(), node.children.end(),
                     [&](const PathChild& a, const PathChild& b) { return bucket(a) < bucket(b); });
    node.bucket_start.assign(KeyPrefix::kChildBuckets + 1, 0);
    for (const PathChild& child : node.children) ++node.bucket_start[bucket(child) + 1];
    for (size_t b = 0; b < KeyPrefix::kChildBuckets; ++b) {
      node.bucket_start[b + 1] += node.bucket_start[b];
    }
  }
}

int EventDecoder::Impl::KeyChild(int node, absl::string_view key) {
  const KeyPrefix prefix = KeyPrefix::Of(key);
  const PathNode& parent = nodes[node];
  const size_t bucket = prefix.Bucket(key.size());
  for (uint32_t i = parent.bucket_start[bucket]; i < parent.bucket_start[bucket + 1]; ++i) {
    const PathChild& child = parent.children[i];
    if (child.size != key.size() || !(child.prefix == prefix)) continue;
    PathNode& n = nodes[child.node];
    if (key.size() > sizeof(prefix) &&
        std::memcmp(n.key.data() + sizeof(prefix), key.data() + sizeof(prefix),
                    key.size() - sizeof(prefix)) != 0) {
      continue;
    }
    if (n.matched == generation) return -1;  // a duplicate key: the first one won
    n.matched = generation;
    return child.node;
  }
  return -1;
}

int EventDecoder::Impl::IndexChild(int node, int64_t index) const {
  for (const PathChild& child : nodes[node].children) {
    if (nodes[child.node].index == index) return child.node;
  }
  return -1;
}

error_code EventDecoder::Impl::Walk(ondemand::value& value, int node, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  JsonValue* out = node >= 0 && nodes[node].slot >= 0 ? &slots[nodes[node].slot] : nullptr;
  const int follow = node >= 0 && !nodes[node].children.empty() ? node : -1;
  ondemand::json_type type;
  SIMDJSON_TRY(value.type().get(type));
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      SIMDJSON_TRY(value.get_object().get(object));
      if (out != nullptr) out->kind = JsonKind::kObject;
      return WalkObject(object, follow, depth);
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      SIMDJSON_TRY(value.get_array().get(array));
      if (out != nullptr) out->kind = JsonKind::kArray;
      return WalkArray(array, follow, depth);
    }
    case ondemand::json_type::string:
      return WalkString(value, out);
    case ondemand::json_type::number:
      return WalkNumber(value, out);
    case ondemand::json_type::boolean: {
      bool b = false;
      SIMDJSON_TRY(value.get_bool().get(b));
      if (out != nullptr) {
        out->kind = JsonKind::kBool;
        out->boolean = b;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(value.is_null().get(is_null));
      if (!is_null) return simdjson::N_ATOM_ERROR;
      if (out != nullptr) out->kind = JsonKind::kNull;
      return simdjson::SUCCESS;
    }
  }
  return simdjson::TAPE_ERROR;
}

error_code EventDecoder::Impl::WalkObject(ondemand::object& object, int node, int depth) {
  for (auto member : object) {
    SIMDJSON_TRY(member.error());
    ondemand::field& field = member.value_unsafe();  // in place: no copy
    absl::string_view key = RawKey(reinterpret_cast<const char*>(field.key().raw()),
                                   field.value().raw_json_token().data());
    // A key without escapes was checked completely by stage 1 and is used
    // in place; one with escapes is unescaped (and so validated).
    if (has_backslash && std::memchr(key.data(), '\\', key.size()) != nullptr) {
      std::string_view unescaped;
      SIMDJSON_TRY(field.unescaped_key().get(unescaped));
      key = absl::string_view(unescaped.data(), unescaped.size());
    }
    SIMDJSON_TRY(Walk(field.value(), node >= 0 ? KeyChild(node, key) : -1, depth + 1));
  }
  return simdjson::SUCCESS;
}

error_code EventDecoder::Impl::WalkArray(ondemand::array& array, int node, int depth) {
  int64_t index = 0;
  for (auto element : array) {
    ondemand::value value;
    SIMDJSON_TRY(element.get(value));
    SIMDJSON_TRY(Walk(value, node >= 0 ? IndexChild(node, index) : -1, depth + 1));
    ++index;
  }
  return simdjson::SUCCESS;
}

error_code EventDecoder::Impl::WalkString(ondemand::value& value, JsonValue* out) {
  // Every value must be consumed: On-Demand steps over an unconsumed one by
  // counting brackets only, which would let structural errors right after
  // it ({"a":"b":1}) pass. raw_json_token() consumes nothing; a string
  // without escapes is then consumed by get_raw_json_string(), which does
  // not unescape, and used in place (stage 1 has checked it completely).
  absl::string_view text = StringTokenText(value.raw_json_token());
  if (!has_backslash || std::memchr(text.data(), '\\', text.size()) == nullptr) {
    ondemand::raw_json_string unused;
    SIMDJSON_TRY(value.get_raw_json_string().get(unused));
  } else {
    std::string_view unescaped;
    SIMDJSON_TRY(value.get_string().get(unescaped));
    text = absl::string_view(unescaped.data(), unescaped.size());
  }
  if (out != nullptr) {
    out->kind = JsonKind::kString;
    out->str = text;
  }
  return simdjson::SUCCESS;
}

error_code EventDecoder::Impl::WalkDocument(size_t size, JsonKind* root_kind) {
  ondemand::document doc;
  SIMDJSON_TRY(parser.iterate(buffer.get(), size, buffer_capacity).get(doc));
  ondemand::json_type type;
  SIMDJSON_TRY(doc.type().get(type));
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      SIMDJSON_TRY(doc.get_object().get(object));
      *root_kind = JsonKind::kObject;
      SIMDJSON_TRY(WalkObject(object, 0, 1));
      break;
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      SIMDJSON_TRY(doc.get_array().get(array));
      *root_kind = JsonKind::kArray;
      SIMDJSON_TRY(WalkArray(array, -1, 1));
      break;
    }
    case ondemand::json_type::number: {
      ondemand::number number;
      SIMDJSON_TRY(doc.get_number().get(number));
      JsonValue v;
      StoreNumber(number, {}, &v);  // only the kind is used
      *root_kind = v.kind;
      break;
    }
    case ondemand::json_type::string: {
      std::string_view unused;
      SIMDJSON_TRY(doc.get_string().get(unused));
      *root_kind = JsonKind::kString;
      break;
    }
    case ondemand::json_type::boolean: {
      bool unused = false;
      SIMDJSON_TRY(doc.get_bool().get(unused));
      *root_kind = JsonKind::kBool;
      break;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(doc.is_null().get(is_null));
      if (!is_null) return simdjson::N_ATOM_ERROR;
      *root_kind = JsonKind::kNull;
      break;
    }
  }
  // The root value is consumed; anything after it ("{} x", "{}}", "1 2") is
  // trailing content. current_location() fails (OUT_OF_BOUNDS) exactly when
  // no token is left.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return simdjson::TRAILING_CONTENT;
  return simdjson::SUCCESS;
}

absl::Status EventDecoder::Impl::DecodeName(RejectReason* reason) {
  for (size_t i = 0; i < name_slots.size(); ++i) {
    const JsonValue& v = slots[name_slots[i]];
    if (v.kind != JsonKind::kString || v.str.empty()) continue;
    if (i > 0) {
      for (const std::string& bad : format.names_requiring_first_path) {
        if (v.str == bad) {
          return Reject(RejectReason::kMissingName, reason,
                        absl::StrCat("event name missing: a \"", format.name_paths[i], "\": \"",
                                     bad, "\" message needs a non-empty string \"",
                                     format.name_paths[0], "\""));
        }
      }
    }
    event.name = v.str;
    return absl::OkStatus();
  }
  return Reject(RejectReason::kMissingName, reason,
                absl::StrCat("event name missing (", QuotedList(format.name_paths), ")"));
}

absl::Status EventDecoder::Impl::DecodeTime(RejectReason* reason) {
  for (size_t i = 0; i < time_slots.size(); ++i) {
    const JsonValue& v = slots[time_slots[i]];
    if (!v.present()) continue;
    int64_t ms = 0;
    switch (v.kind) {
      case JsonKind::kString: {
        if (const char* problem = decode_internal::ParseIsoTimestamp(v.str, &ms)) {
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", QuoteForError(v.str),
                                     " is not ISO-8601 or epoch milliseconds (", problem, ")"));
        }
        if (ms < kMinTimeMs || ms > kMaxTimeMs) {
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", QuoteForError(v.str),
                                     " is out of range (1970-01-01 to 9999-12-31 UTC)"));
        }
        event.time_ms = ms;
        return CheckFuture(v, reason);
      }
      case JsonKind::kInt64:
      case JsonKind::kUint64:
      case JsonKind::kDouble: {
        bool in_range = false;
        std::string shown;
        if (v.kind == JsonKind::kInt64) {
          in_range = v.i64 >= kMinTimeMs && v.i64 <= kMaxTimeMs;
          ms = v.i64;
          if (!in_range) shown = absl::StrCat(v.i64);
        } else if (v.kind == JsonKind::kUint64) {
          shown = absl::StrCat(v.u64);  // above INT64_MAX: never in range
        } else {
          // Truncate toward zero: 1711848600000.9 -> 1711848600000.
          in_range = v.dbl >= static_cast<double>(kMinTimeMs) &&
                     v.dbl < static_cast<double>(kMaxTimeMs) + 1.0;
          if (in_range) {
            ms = static_cast<int64_t>(v.dbl);
          } else {
            shown = absl::StrCat(v.dbl);
          }
        }
        if (!in_range) {
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", shown,
                                     " is out of range (epoch milliseconds of 1970-01-01 to "
                                     "9999-12-31)"));
        }
        event.time_ms = ms;
        return CheckFuture(v, reason);
      }
      default:
        break;
    }
    return Reject(RejectReason::kBadTimestamp, reason,
                  absl::StrCat("timestamp at \"", format.time_paths[i], "\" is ",
                               KindName(v.kind), ", not ISO-8601 or epoch milliseconds"));
  }
  return Reject(RejectReason::kMissingTimestamp, reason,
                absl::StrCat("timestamp missing (", QuotedList(format.time_paths), ")"));
}

absl::Status EventDecoder::Impl::CheckFuture(const JsonValue& time, RejectReason* reason) {
  if (max_future_skew == absl::InfiniteDuration()) return absl::OkStatus();
  // Most events are stamped before the previous reading plus the skew.
  if (event.time_ms <= future_bound_ms) return absl::OkStatus();
  const absl::Time wall = now();
  future_bound_ms = absl::ToUnixMillis(wall + max_future_skew);
  // Whole milliseconds, like event times, for a readable message.
  const absl::Duration ahead =
      absl::Trunc(absl::FromUnixMillis(event.time_ms) - wall, absl::Milliseconds(1));
  if (ahead <= max_future_skew) return absl::OkStatus();
  // The timestamp as written (a string) or as whole milliseconds (a number),
  // built only now: accepted events allocate nothing.
  const std::string shown = time.kind == JsonKind::kString ? QuoteForError(time.str)
                                                           : absl::StrCat(event.time_ms);
  return Reject(RejectReason::kFutureTimestamp, reason,
                absl::StrCat("timestamp ", shown, " is ", absl::FormatDuration(ahead),
                             " ahead of the wall clock (",
                             absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", wall, absl::UTCTimeZone()),
                             "); events.max_future_skew allows ",
                             absl::FormatDuration(max_future_skew)));
}

absl::Status EventDecoder::Impl::DecodeId(RejectReason* reason) {
  event.id = absl::string_view();
  for (size_t i = 0; i < id_slots.size(); ++i) {
    const JsonValue& v = slots[id_slots[i]];
    if (!v.present()) continue;
    std::to_chars_result written{};
    switch (v.kind) {
      case JsonKind::kString:
        event.id = v.str;
        return absl::OkStatus();
      case JsonKind::kInt64:
        written = std::to_chars(id_text, id_text + sizeof(id_text), v.i64);
        event.id = absl::string_view(id_text, static_cast<size_t>(written.ptr - id_text));
        return absl::OkStatus();
      case JsonKind::kUint64:
        written = std::to_chars(id_text, id_text + sizeof(id_text), v.u64);
        event.id = absl::string_view(id_text, static_cast<size_t>(written.ptr - id_text));
        return absl::OkStatus();
      default:
        break;
    }
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("id at \"", format.id_paths[i], "\" is ", KindName(v.kind),
                               ", not a string or an integer"));
  }
  return absl::OkStatus();
}

absl::Status EventDecoder::Impl::CheckUserAndGroup(RejectReason* reason) const {
  // The user: the user path, or when missing or null the first present
  // non-null fallback (the same value DecodeFields() picks).
  const JsonValue* user = nullptr;
  const std::string* user_path = nullptr;
  if (user_slot >= 0 && slots[user_slot].present()) {
    user = &slots[user_slot];
    user_path = &format.user_path;
  }
  for (size_t i = 0; user == nullptr && i < user_fallback_slots.size(); ++i) {
    if (slots[user_fallback_slots[i]].present()) {
      user = &slots[user_fallback_slots[i]];
      user_path = &format.user_fallback_paths[i];
    }
  }
  if (user != nullptr && !IsIdType(user->kind)) {
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("user id at \"", *user_path, "\" is ", KindName(user->kind),
                               ", not a string or an integer"));
  }
  for (size_t i = 0; i < group_slots.size(); ++i) {
    const JsonValue& v = slots[group_slots[i]];
    if (!v.present() || IsIdType(v.kind)) continue;
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("group id at \"", format.group_paths[i], "\" is ",
                               KindName(v.kind), ", not a string or an integer"));
  }
  return absl::OkStatus();
}

void EventDecoder::Impl::DecodeFields() {
  for (size_t id = 0; id < field_slots.size(); ++id) {
    event.fields[id] = ToFieldValue(slots[field_slots[id]]);
  }
  if (user_field == kNoField) return;
  FieldValue& user = event.fields[user_field];
  if (user.kind != FieldValue::Kind::kMissing && user.kind != FieldValue::Kind::kNull) return;
  for (int slot : user_fallback_slots) {
    if (slots[slot].present()) {
      user = ToFieldValue(slots[slot]);
      return;
    }
  }
}

void EventDecoder::Impl::HashKeys() {
  event.id_hashed = !event.id.empty();
  event.id_hash = event.id_hashed ? HashKeyText(event.id) : 0;
  for (FieldId id : hashed_fields) event.fields[id].SetKeyHash(&key_text);
}

EventDecoder::EventDecoder(EventFormat format, const FieldCatalog* catalog,
                           size_t max_message_bytes)
    : EventDecoder(std::move(format), catalog, [max_message_bytes] {
        EventDecoderOptions options;
        options.max_message_bytes = max_message_bytes;
        return options;
      }()) {}

EventDecoder::EventDecoder(EventFormat format, const FieldCatalog* catalog,
                           EventDecoderOptions options)
    : impl_(std::make_unique<Impl>(std::move(format), catalog, std::move(options))) {
  Impl& d = *impl_;
  d.nodes.emplace_back();  // the root object
  d.name_slots = d.AddPaths(d.format.name_paths);
  d.time_slots = d.AddPaths(d.format.time_paths);
  d.id_slots = d.AddPaths(d.format.id_paths);
  if (!d.format.user_path.empty()) d.user_slot = d.AddPath(d.format.user_path);
  d.user_fallback_slots = d.AddPaths(d.format.user_fallback_paths);
  d.group_slots = d.AddPaths(d.format.group_paths);
  const int n = catalog == nullptr ? 0 : catalog->size();
  d.field_slots.reserve(static_cast<size_t>(n));
  for (FieldId id = 0; id < n; ++id) d.field_slots.push_back(d.AddPath(catalog->path(id)));
  d.SortChildren();
  if (catalog != nullptr && !d.format.user_path.empty()) {
    d.user_field = catalog->Find(d.format.user_path);
  }
  d.event.fields.assign(static_cast<size_t>(n), FieldValue::Missing());
  // Pre-size the buffer and the parser for typical events; both grow (once)
  // for larger ones. A parser allocation failure here is not fatal:
  // iterate() retries it and reports the error.
  const size_t capacity =
      d.max_message_bytes < kInitialCapacity ? d.max_message_bytes : kInitialCapacity;
  d.buffer_capacity = capacity + simdjson::SIMDJSON_PADDING;
  d.buffer = std::make_unique<char[]>(d.buffer_capacity);
  if (d.parser.allocate(capacity) != simdjson::SUCCESS) {
    // Deliberately ignored: see above.
  }
}

EventDecoder::~EventDecoder() = default;

absl::Status EventDecoder::Decode(absl::string_view json, const Event** event,
                                  RejectReason* reason) {
  Impl& d = *impl_;
  if (json.size() > d.max_message_bytes) {
    return d.Reject(RejectReason::kOversized, reason,
                    absl::StrCat("message is ", json.size(), " bytes, over the ",
                                 d.max_message_bytes, "-byte limit"));
  }
  if (json.size() + simdjson::SIMDJSON_PADDING > d.buffer_capacity) {
    d.buffer_capacity = json.size() + simdjson::SIMDJSON_PADDING;
    d.buffer = std::make_unique<char[]>(d.buffer_capacity);
  }
  if (!json.empty()) std::memcpy(d.buffer.get(), json.data(), json.size());
  std::memset(d.buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  // Most messages have no escapes at all: then no string needs a look for
  // one.
  d.has_backslash = std::memchr(d.buffer.get(), '\\', json.size()) != nullptr;
  ++d.generation;
  for (JsonValue& slot : d.slots) slot.kind = JsonKind::kMissing;
  JsonKind root_kind = JsonKind::kMissing;
  const error_code parse_error = d.WalkDocument(json.size(), &root_kind);
  if (parse_error != simdjson::SUCCESS) {
    return d.Reject(RejectReason::kInvalidJson, reason,
                    absl::StrCat("message is not valid JSON: ",
                                 simdjson::error_message(parse_error)));
  }
  if (root_kind != JsonKind::kObject) {
    return d.Reject(RejectReason::kNotObject, reason,
                    absl::StrCat("message is ", KindName(root_kind), ", not a JSON object"));
  }
  if (absl::Status s = d.DecodeName(reason); !s.ok()) return s;
  if (absl::Status s = d.DecodeTime(reason); !s.ok()) return s;
  if (absl::Status s = d.DecodeId(reason); !s.ok()) return s;
  if (absl::Status s = d.CheckUserAndGroup(reason); !s.ok()) return s;
  d.DecodeFields();
  d.HashKeys();
  *event = &d.event;
  return absl::OkStatus();
}

}  // namespace nsmd
