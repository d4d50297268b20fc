// EventDecoder: one simdjson DOM parser, reused for every message.
//
// Every configured path (name, time, id, user fallbacks, catalog fields) is
// turned into a JSON pointer once, at construction ("properties.items.0" ->
// "/properties/items/0", with '~' and '/' inside a key escaped as "~0" and
// "~1"). Decode() then copies the message into the parser's padded buffer,
// parses it into the parser's reused document and resolves the pointers.
// simdjson resolves a pointer segment against an array as an index and
// against an object as a key, so "items.0" reads the first element of an
// array and the member "0" of an object. Once the parser's buffers have grown
// to the largest message seen, a decode allocates nothing; only rejections
// build an error message.
#include "daemon/decode/event_decoder.h"

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "daemon/decode/iso_timestamp_internal.h"
#include "simdjson.h"

namespace nsmd {
namespace {

using decode_internal::QuoteForError;

// 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. The upper bound is
// 2932897 days (1970-01-01 to 10000-01-01: 8030 years of 365 days plus 1947
// leap days) * 86400 s - 1 ms.
constexpr int64_t kMinTimeMs = 0;
constexpr int64_t kMaxTimeMs = int64_t{2932897} * 86400 * 1000 - 1;

// Initial parser capacity: enough for typical events without growing.
constexpr size_t kInitialCapacity = 64 * 1024;

std::string ToJsonPointer(absl::string_view dotted) {
  std::string out = "/";
  for (char c : dotted) {
    if (c == '.') {
      out.push_back('/');
    } else if (c == '~') {
      out.append("~0");
    } else if (c == '/') {
      out.append("~1");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> ToJsonPointers(const std::vector<std::string>& dotted) {
  std::vector<std::string> out;
  out.reserve(dotted.size());
  for (const std::string& path : dotted) out.push_back(ToJsonPointer(path));
  return out;
}

absl::string_view ToAbsl(std::string_view sv) { return absl::string_view(sv.data(), sv.size()); }

// "a string", "an object", ... for error messages.
const char* KindName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: return "an integer";
    case simdjson::dom::element_type::DOUBLE: return "a fractional number";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a bool";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

// True for the types an id (message, user or group id) may have.
bool IsIdType(simdjson::dom::element_type type) {
  return type == simdjson::dom::element_type::STRING ||
         type == simdjson::dom::element_type::INT64 ||
         type == simdjson::dom::element_type::UINT64;
}

std::string QuotedList(const std::vector<std::string>& paths) {
  return absl::StrJoin(paths, " or ", [](std::string* out, const std::string& path) {
    absl::StrAppend(out, "\"", path, "\"");
  });
}

}  // namespace

struct EventDecoder::Impl {
  Impl(EventFormat f, const FieldCatalog* c, EventDecoderOptions o)
      : format(std::move(f)),
        catalog(c),
        max_message_bytes(o.max_message_bytes),
        max_future_skew(o.max_future_skew),
        now(o.now ? std::move(o.now) : std::function<absl::Time()>(absl::Now)) {}

  // Looks up `pointer` under the root object; false if absent (or if the
  // path runs through a scalar, or indexes an array with a non-number).
  bool Find(const std::string& pointer, simdjson::dom::element* out) const {
    return root.at_pointer(std::string_view(pointer)).get(*out) == simdjson::SUCCESS;
  }

  FieldValue ToFieldValue(const std::string& pointer) const {
    simdjson::dom::element e;
    if (!Find(pointer, &e)) return FieldValue::Missing();
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view sv;
        if (e.get_string().get(sv) != simdjson::SUCCESS) return FieldValue::Missing();
        return FieldValue::String(ToAbsl(sv));
      }
      case simdjson::dom::element_type::INT64: {
        int64_t v = 0;
        if (e.get_int64().get(v) != simdjson::SUCCESS) return FieldValue::Missing();
        return FieldValue::Number(static_cast<double>(v));
      }
      case simdjson::dom::element_type::UINT64: {
        uint64_t v = 0;
        if (e.get_uint64().get(v) != simdjson::SUCCESS) return FieldValue::Missing();
        return FieldValue::Number(static_cast<double>(v));
      }
      case simdjson::dom::element_type::DOUBLE: {
        double v = 0;
        if (e.get_double().get(v) != simdjson::SUCCESS) return FieldValue::Missing();
        return FieldValue::Number(v);
      }
      case simdjson::dom::element_type::BOOL: {
        bool v = false;
        if (e.get_bool().get(v) != simdjson::SUCCESS) return FieldValue::Missing();
        return FieldValue::Bool(v);
      }
      case simdjson::dom::element_type::NULL_VALUE:
        return FieldValue::Null();
      case simdjson::dom::element_type::ARRAY:
      case simdjson::dom::element_type::OBJECT:
        return FieldValue::Composite();
    }
    return FieldValue::Missing();
  }

  absl::Status Reject(RejectReason r, RejectReason* reason, std::string message) const {
    *reason = r;
    return absl::InvalidArgumentError(std::move(message));
  }

  absl::Status DecodeName(RejectReason* reason);
  absl::Status DecodeTime(RejectReason* reason);
  absl::Status CheckFuture(absl::string_view shown, RejectReason* reason) const;
  absl::Status DecodeId(RejectReason* reason);
  absl::Status CheckUserAndGroup(RejectReason* reason) const;
  void DecodeFields();

  // Constant after construction.
  const EventFormat format;
  const FieldCatalog* const catalog;
  const size_t max_message_bytes;
  const absl::Duration max_future_skew;
  const std::function<absl::Time()> now;
  std::vector<std::string> name_pointers;
  std::vector<std::string> time_pointers;
  std::vector<std::string> id_pointers;
  std::string user_pointer;  // empty: the format names no user path
  std::vector<std::string> user_fallback_pointers;
  std::vector<std::string> group_pointers;
  std::vector<std::string> field_pointers;  // indexed by FieldId
  FieldId user_field = kNoField;

  // Reused by every Decode().
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  Event event;
  char id_text[24] = {};  // decimal text of an integer id
};

absl::Status EventDecoder::Impl::DecodeName(RejectReason* reason) {
  for (size_t i = 0; i < name_pointers.size(); ++i) {
    simdjson::dom::element e;
    std::string_view sv;
    if (!Find(name_pointers[i], &e) || e.get_string().get(sv) != simdjson::SUCCESS ||
        sv.empty()) {
      continue;
    }
    const absl::string_view name = ToAbsl(sv);
    if (i > 0) {
      for (const std::string& bad : format.names_requiring_first_path) {
        if (name == bad) {
          return Reject(RejectReason::kMissingName, reason,
                        absl::StrCat("event name missing: a \"", format.name_paths[i], "\": \"",
                                     bad, "\" message needs a non-empty string \"",
                                     format.name_paths[0], "\""));
        }
      }
    }
    event.name = name;
    return absl::OkStatus();
  }
  return Reject(RejectReason::kMissingName, reason,
                absl::StrCat("event name missing (", QuotedList(format.name_paths), ")"));
}

absl::Status EventDecoder::Impl::DecodeTime(RejectReason* reason) {
  for (size_t i = 0; i < time_pointers.size(); ++i) {
    simdjson::dom::element e;
    if (!Find(time_pointers[i], &e) || e.is_null()) continue;
    const std::string& path = format.time_paths[i];
    int64_t ms = 0;
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view sv;
        if (e.get_string().get(sv) != simdjson::SUCCESS) break;
        const absl::string_view text = ToAbsl(sv);
        if (const char* problem = decode_internal::ParseIsoTimestamp(text, &ms)) {
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", QuoteForError(text),
                                     " is not ISO-8601 or epoch milliseconds (", problem, ")"));
        }
        if (ms < kMinTimeMs || ms > kMaxTimeMs) {
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", QuoteForError(text),
                                     " is out of range (1970-01-01 to 9999-12-31 UTC)"));
        }
        event.time_ms = ms;
        return CheckFuture(QuoteForError(text), reason);
      }
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE: {
        // get_double() converts any number; integers beyond 2^53 lose low
        // bits, but those are far outside the accepted range anyway.
        int64_t i64 = 0;
        double d = 0;
        bool in_range;
        if (e.get_int64().get(i64) == simdjson::SUCCESS) {
          in_range = i64 >= kMinTimeMs && i64 <= kMaxTimeMs;
          ms = i64;
        } else if (e.get_double().get(d) == simdjson::SUCCESS) {
          // Truncate toward zero: 1711848600000.9 -> 1711848600000.
          in_range = d >= static_cast<double>(kMinTimeMs) &&
                     d < static_cast<double>(kMaxTimeMs) + 1.0;
          if (in_range) ms = static_cast<int64_t>(d);
        } else {
          in_range = false;
        }
        if (!in_range) {
          std::string number;
          uint64_t u64 = 0;
          if (e.get_int64().get(i64) == simdjson::SUCCESS) {
            number = absl::StrCat(i64);
          } else if (e.get_uint64().get(u64) == simdjson::SUCCESS) {
            number = absl::StrCat(u64);
          } else {
            number = absl::StrCat(d);
          }
          return Reject(RejectReason::kBadTimestamp, reason,
                        absl::StrCat("timestamp ", number,
                                     " is out of range (epoch milliseconds of 1970-01-01 to "
                                     "9999-12-31)"));
        }
        event.time_ms = ms;
        return CheckFuture(absl::StrCat(ms), reason);
      }
      default:
        break;
    }
    return Reject(RejectReason::kBadTimestamp, reason,
                  absl::StrCat("timestamp at \"", path, "\" is ", KindName(e.type()),
                               ", not ISO-8601 or epoch milliseconds"));
  }
  return Reject(RejectReason::kMissingTimestamp, reason,
                absl::StrCat("timestamp missing (", QuotedList(format.time_paths), ")"));
}

absl::Status EventDecoder::Impl::CheckFuture(absl::string_view shown,
                                             RejectReason* reason) const {
  if (max_future_skew == absl::InfiniteDuration()) return absl::OkStatus();
  const absl::Time wall = now();
  // Whole milliseconds, like event times, for a readable message.
  const absl::Duration ahead =
      absl::Trunc(absl::FromUnixMillis(event.time_ms) - wall, absl::Milliseconds(1));
  if (ahead <= max_future_skew) return absl::OkStatus();
  return Reject(RejectReason::kFutureTimestamp, reason,
                absl::StrCat("timestamp ", shown, " is ", absl::FormatDuration(ahead),
                             " ahead of the wall clock (",
                             absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", wall, absl::UTCTimeZone()),
                             "); events.max_future_skew allows ",
                             absl::FormatDuration(max_future_skew)));
}

absl::Status EventDecoder::Impl::DecodeId(RejectReason* reason) {
  event.id = absl::string_view();
  for (size_t i = 0; i < id_pointers.size(); ++i) {
    simdjson::dom::element e;
    if (!Find(id_pointers[i], &e) || e.is_null()) continue;
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view sv;
        if (e.get_string().get(sv) != simdjson::SUCCESS) break;
        event.id = ToAbsl(sv);
        return absl::OkStatus();
      }
      case simdjson::dom::element_type::INT64: {
        int64_t v = 0;
        if (e.get_int64().get(v) != simdjson::SUCCESS) break;
        auto [end, ec] = std::to_chars(id_text, id_text + sizeof(id_text), v);
        if (ec != std::errc()) break;
        event.id = absl::string_view(id_text, static_cast<size_t>(end - id_text));
        return absl::OkStatus();
      }
      case simdjson::dom::element_type::UINT64: {
        uint64_t v = 0;
        if (e.get_uint64().get(v) != simdjson::SUCCESS) break;
        auto [end, ec] = std::to_chars(id_text, id_text + sizeof(id_text), v);
        if (ec != std::errc()) break;
        event.id = absl::string_view(id_text, static_cast<size_t>(end - id_text));
        return absl::OkStatus();
      }
      default:
        break;
    }
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("id at \"", format.id_paths[i], "\" is ", KindName(e.type()),
                               ", not a string or an integer"));
  }
  return absl::OkStatus();
}

absl::Status EventDecoder::Impl::CheckUserAndGroup(RejectReason* reason) const {
  // The user: the user path, or when missing or null the first present
  // non-null fallback (the same value DecodeFields() picks).
  simdjson::dom::element e;
  const std::string* user_path = nullptr;
  if (!user_pointer.empty() && Find(user_pointer, &e) && !e.is_null()) {
    user_path = &format.user_path;
  }
  for (size_t i = 0; user_path == nullptr && i < user_fallback_pointers.size(); ++i) {
    if (Find(user_fallback_pointers[i], &e) && !e.is_null()) {
      user_path = &format.user_fallback_paths[i];
    }
  }
  if (user_path != nullptr && !IsIdType(e.type())) {
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("user id at \"", *user_path, "\" is ", KindName(e.type()),
                               ", not a string or an integer"));
  }
  for (size_t i = 0; i < group_pointers.size(); ++i) {
    if (!Find(group_pointers[i], &e) || e.is_null() || IsIdType(e.type())) continue;
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("group id at \"", format.group_paths[i], "\" is ",
                               KindName(e.type()), ", not a string or an integer"));
  }
  return absl::OkStatus();
}

void EventDecoder::Impl::DecodeFields() {
  for (size_t id = 0; id < field_pointers.size(); ++id) {
    event.fields[id] = ToFieldValue(field_pointers[id]);
  }
  if (user_field == kNoField) return;
  FieldValue& user = event.fields[user_field];
  if (user.kind != FieldValue::Kind::kMissing && user.kind != FieldValue::Kind::kNull) return;
  for (const std::string& pointer : user_fallback_pointers) {
    FieldValue v = ToFieldValue(pointer);
    if (v.kind != FieldValue::Kind::kMissing && v.kind != FieldValue::Kind::kNull) {
      user = v;
      return;
    }
  }
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
  const size_t max_message_bytes = impl_->max_message_bytes;
  Impl& d = *impl_;
  d.name_pointers = ToJsonPointers(d.format.name_paths);
  d.time_pointers = ToJsonPointers(d.format.time_paths);
  d.id_pointers = ToJsonPointers(d.format.id_paths);
  if (!d.format.user_path.empty()) d.user_pointer = ToJsonPointer(d.format.user_path);
  d.user_fallback_pointers = ToJsonPointers(d.format.user_fallback_paths);
  d.group_pointers = ToJsonPointers(d.format.group_paths);
  const int n = catalog == nullptr ? 0 : catalog->size();
  d.field_pointers.reserve(static_cast<size_t>(n));
  for (FieldId id = 0; id < n; ++id) d.field_pointers.push_back(ToJsonPointer(catalog->path(id)));
  if (catalog != nullptr && !d.format.user_path.empty()) {
    d.user_field = catalog->Find(d.format.user_path);
  }
  d.event.fields.assign(static_cast<size_t>(n), FieldValue::Missing());
  // Pre-size the parser for typical events; it grows (once) for larger ones.
  // A failure here is not fatal: parse() retries the allocation and reports it.
  const size_t capacity = max_message_bytes < kInitialCapacity ? max_message_bytes
                                                                : kInitialCapacity;
  if (d.parser.allocate(capacity < simdjson::dom::MINIMAL_DOCUMENT_CAPACITY
                            ? simdjson::dom::MINIMAL_DOCUMENT_CAPACITY
                            : capacity) != simdjson::SUCCESS) {
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
  simdjson::dom::element root;
  // realloc_if_needed = true: the message is copied into the parser's own
  // padded buffer, since `json` has no SIMDJSON_PADDING bytes after it.
  const simdjson::error_code parse_error = d.parser.parse(json.data(), json.size(), true).get(root);
  if (parse_error != simdjson::SUCCESS) {
    return d.Reject(RejectReason::kInvalidJson, reason,
                    absl::StrCat("message is not valid JSON: ",
                                 simdjson::error_message(parse_error)));
  }
  if (root.get_object().get(d.root) != simdjson::SUCCESS) {
    return d.Reject(RejectReason::kNotObject, reason,
                    absl::StrCat("message is ", KindName(root.type()), ", not a JSON object"));
  }
  if (absl::Status s = d.DecodeName(reason); !s.ok()) return s;
  if (absl::Status s = d.DecodeTime(reason); !s.ok()) return s;
  if (absl::Status s = d.DecodeId(reason); !s.ok()) return s;
  if (absl::Status s = d.CheckUserAndGroup(reason); !s.ok()) return s;
  d.DecodeFields();
  *event = &d.event;
  return absl::OkStatus();
}

}  // namespace nsmd
