#include <cstring>
#include <string_view>
#include <utility>

#include "absl/base/attributes.h"
#include "daemon/decode/json_walker_internal.h"

namespace nsmd {
namespace decode_internal {
namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

// Deepest nesting accepted, as by simdjson's DOM parser (DEFAULT_MAX_DEPTH,
// 1024): the root is at depth 1, its members or elements at depth 2, and a
// value (scalar or not) deeper than this is an error.
constexpr int kMaxDepth = static_cast<int>(simdjson::DEFAULT_MAX_DEPTH);

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

// The raw text between the quotes of a string value, given its token: from
// the opening quote up to the next token, so the closing quote is the last
// '"' (only whitespace can follow it).
absl::string_view StringTokenText(std::string_view token) {
  size_t end = token.size();
  while (end > 2 && token[end - 1] != '"') --end;
  return absl::string_view(token.data() + 1, end - 2);
}

}  // namespace

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

JsonWalker::JsonWalker(JsonPathTree tree, size_t initial_capacity)
    : tree_(std::move(tree)),
      buffer_(std::make_unique<char[]>(initial_capacity + simdjson::SIMDJSON_PADDING)),
      buffer_capacity_(initial_capacity + simdjson::SIMDJSON_PADDING),
      slots_(static_cast<size_t>(tree_.slot_count())) {
  // A parser allocation failure here is not fatal: iterate() retries it and
  // reports the error.
  if (parser_.allocate(initial_capacity) != simdjson::SUCCESS) {
    // Deliberately ignored: see above.
  }
}

error_code JsonWalker::Walk(absl::string_view json, JsonKind* root_kind) {
  if (json.size() + simdjson::SIMDJSON_PADDING > buffer_capacity_) {
    buffer_capacity_ = json.size() + simdjson::SIMDJSON_PADDING;
    buffer_ = std::make_unique<char[]>(buffer_capacity_);
  }
  if (!json.empty()) std::memcpy(buffer_.get(), json.data(), json.size());
  std::memset(buffer_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  // Most messages have no escapes at all: then no string needs a look for
  // one.
  has_backslash_ = std::memchr(buffer_.get(), '\\', json.size()) != nullptr;
  ++generation_;
  for (JsonValue& slot : slots_) slot.kind = JsonKind::kMissing;
  *root_kind = JsonKind::kMissing;
  return WalkDocument(json.size(), root_kind);
}

error_code JsonWalker::WalkValue(ondemand::value& value, int node, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  const int slot = node >= 0 ? tree_.slot(node) : -1;
  JsonValue* out = slot >= 0 ? &slots_[static_cast<size_t>(slot)] : nullptr;
  const int follow = node >= 0 && tree_.has_children(node) ? node : -1;
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
    case ondemand::json_type::string: return WalkString(value, out);
    case ondemand::json_type::number: return WalkNumber(value, out);
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

error_code JsonWalker::WalkObject(ondemand::object& object, int node, int depth) {
  for (auto member : object) {
    SIMDJSON_TRY(member.error());
    ondemand::field& field = member.value_unsafe();  // in place: no copy
    absl::string_view key = RawKey(reinterpret_cast<const char*>(field.key().raw()),
                                   field.value().raw_json_token().data());
    // A key without escapes was checked completely by stage 1 and is used
    // in place; one with escapes is unescaped (and so validated).
    if (has_backslash_ && std::memchr(key.data(), '\\', key.size()) != nullptr) {
      std::string_view unescaped;
      SIMDJSON_TRY(field.unescaped_key().get(unescaped));
      key = absl::string_view(unescaped.data(), unescaped.size());
    }
    SIMDJSON_TRY(WalkValue(field.value(), node >= 0 ? tree_.KeyChild(node, key, generation_) : -1,
                           depth + 1));
  }
  return simdjson::SUCCESS;
}

error_code JsonWalker::WalkArray(ondemand::array& array, int node, int depth) {
  int64_t index = 0;
  for (auto element : array) {
    ondemand::value value;
    SIMDJSON_TRY(element.get(value));
    SIMDJSON_TRY(WalkValue(value, node >= 0 ? tree_.IndexChild(node, index) : -1, depth + 1));
    ++index;
  }
  return simdjson::SUCCESS;
}

// Inlined into WalkValue, as it was before the walk had a file of its own:
// called out of line it cost ~1.5 % more instructions per saas event.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline error_code JsonWalker::WalkString(ondemand::value& value,
                                                                      JsonValue* out) {
  // Every value must be consumed: On-Demand steps over an unconsumed one by
  // counting brackets only, which would let structural errors right after
  // it ({"a":"b":1}) pass. raw_json_token() consumes nothing; a string
  // without escapes is then consumed by get_raw_json_string(), which does
  // not unescape, and used in place (stage 1 has checked it completely).
  absl::string_view text = StringTokenText(value.raw_json_token());
  if (!has_backslash_ || std::memchr(text.data(), '\\', text.size()) == nullptr) {
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

error_code JsonWalker::WalkDocument(size_t size, JsonKind* root_kind) {
  ondemand::document doc;
  SIMDJSON_TRY(parser_.iterate(buffer_.get(), size, buffer_capacity_).get(doc));
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

}  // namespace decode_internal
}  // namespace nsmd
