// EventDecoder: the format's rules over the values one JsonWalker pass
// captured.
//
// Every configured path (name, time, id, user, user fallbacks, groups,
// catalog fields) goes into one JsonPathTree at construction; Decode() walks
// the whole message once (JsonWalker: validation, capture), then the
// format's rules (name, time, id, user and group checks, fields) read the
// captured slots. Once the walker's buffers have grown to the largest
// message seen, a decode allocates nothing; only rejections build an error
// message.
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
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "daemon/base/status_macros.h"
#include "daemon/decode/iso_timestamp_internal.h"
#include "daemon/decode/json_path_tree_internal.h"
#include "daemon/decode/json_walker_internal.h"

namespace nsmd {
namespace {

using decode_internal::JsonKind;
using decode_internal::JsonPathTree;
using decode_internal::JsonValue;
using decode_internal::JsonWalker;
using decode_internal::KindName;
using decode_internal::QuoteForError;

// 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. The upper bound is
// 2932897 days (1970-01-01 to 10000-01-01: 8030 years of 365 days plus 1947
// leap days) * 86400 s - 1 ms.
constexpr int64_t kMinTimeMs = 0;
constexpr int64_t kMaxTimeMs = int64_t{2932897} * 86400 * 1000 - 1;

// Initial buffer and parser capacity: enough for typical events.
constexpr size_t kInitialCapacity = 64 * 1024;

// Adds each of `dotted` to `tree`; returns their slots.
std::vector<int> AddPaths(const std::vector<std::string>& dotted, JsonPathTree* tree) {
  std::vector<int> out;
  out.reserve(dotted.size());
  for (const std::string& path : dotted) out.push_back(tree->AddPath(path));
  return out;
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
        now(o.now ? std::move(o.now) : std::function<absl::Time()>(absl::Now)) {
    const int n = c == nullptr ? 0 : c->size();
    for (FieldId id : o.hashed_fields) {
      if (id >= 0 && id < n) hashed_fields.push_back(id);
    }
  }

  // What slot `slot` held in the current message.
  const JsonValue& slot(int i) const { return walker->slot(i); }

  absl::Status Reject(RejectReason r, RejectReason* reason, absl::string_view message) const {
    *reason = r;
    return absl::InvalidArgumentError(message);
  }

  absl::Status DecodeName(RejectReason* reason);
  absl::Status DecodeTime(RejectReason* reason);
  // Rejects event.time, decoded from `time`, if it is more than
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
  std::optional<JsonWalker> walker;  // set once the paths are known
  std::string key_text;              // the text of a number or bool being hashed
  Event event;
  char id_text[24] = {};  // decimal text of an integer id
  // Event times up to this pass the future check without reading the clock:
  // the last wall-clock reading plus max_future_skew (see CheckFuture).
  EventTime future_bound{std::numeric_limits<int64_t>::min()};
};

absl::Status EventDecoder::Impl::DecodeName(RejectReason* reason) {
  for (size_t i = 0; i < name_slots.size(); ++i) {
    const JsonValue& v = slot(name_slots[i]);
    if (v.kind != JsonKind::kString || v.str.empty()) continue;
    if (i > 0) {
      for (const std::string& bad : format.names_requiring_first_path) {
        if (v.str == bad) {
          return Reject(
              RejectReason::kMissingName, reason,
              absl::StrCat("event name missing: a \"", format.name_paths[i], "\": \"", bad,
                           "\" message needs a non-empty string \"", format.name_paths[0], "\""));
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
    const JsonValue& v = slot(time_slots[i]);
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
        event.time = EventTime(ms);
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
        event.time = EventTime(ms);
        return CheckFuture(v, reason);
      }
      default: break;
    }
    return Reject(RejectReason::kBadTimestamp, reason,
                  absl::StrCat("timestamp at \"", format.time_paths[i], "\" is ", KindName(v.kind),
                               ", not ISO-8601 or epoch milliseconds"));
  }
  return Reject(RejectReason::kMissingTimestamp, reason,
                absl::StrCat("timestamp missing (", QuotedList(format.time_paths), ")"));
}

absl::Status EventDecoder::Impl::CheckFuture(const JsonValue& time, RejectReason* reason) {
  if (max_future_skew == absl::InfiniteDuration()) return absl::OkStatus();
  // Most events are stamped before the previous reading plus the skew.
  if (event.time <= future_bound) return absl::OkStatus();
  const absl::Time wall = now();
  future_bound = EventTime::FromTime(wall + max_future_skew);
  // Whole milliseconds, like event times, for a readable message.
  const absl::Duration ahead = absl::Trunc(event.time.ToTime() - wall, absl::Milliseconds(1));
  if (ahead <= max_future_skew) return absl::OkStatus();
  // The timestamp as written (a string) or as whole milliseconds (a number),
  // built only now: accepted events allocate nothing.
  const std::string shown =
      time.kind == JsonKind::kString ? QuoteForError(time.str) : absl::StrCat(event.time.millis());
  return Reject(
      RejectReason::kFutureTimestamp, reason,
      absl::StrCat("timestamp ", shown, " is ", absl::FormatDuration(ahead),
                   " ahead of the wall clock (",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", wall, absl::UTCTimeZone()),
                   "); events.max_future_skew allows ", absl::FormatDuration(max_future_skew)));
}

absl::Status EventDecoder::Impl::DecodeId(RejectReason* reason) {
  event.id = absl::string_view();
  for (size_t i = 0; i < id_slots.size(); ++i) {
    const JsonValue& v = slot(id_slots[i]);
    if (!v.present()) continue;
    std::to_chars_result written{};
    switch (v.kind) {
      case JsonKind::kString: event.id = v.str; return absl::OkStatus();
      case JsonKind::kInt64:
        written = std::to_chars(id_text, id_text + sizeof(id_text), v.i64);
        event.id = absl::string_view(id_text, static_cast<size_t>(written.ptr - id_text));
        return absl::OkStatus();
      case JsonKind::kUint64:
        written = std::to_chars(id_text, id_text + sizeof(id_text), v.u64);
        event.id = absl::string_view(id_text, static_cast<size_t>(written.ptr - id_text));
        return absl::OkStatus();
      default: break;
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
  if (user_slot >= 0 && slot(user_slot).present()) {
    user = &slot(user_slot);
    user_path = &format.user_path;
  }
  for (size_t i = 0; user == nullptr && i < user_fallback_slots.size(); ++i) {
    if (slot(user_fallback_slots[i]).present()) {
      user = &slot(user_fallback_slots[i]);
      user_path = &format.user_fallback_paths[i];
    }
  }
  if (user != nullptr && !IsIdType(user->kind)) {
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("user id at \"", *user_path, "\" is ", KindName(user->kind),
                               ", not a string or an integer"));
  }
  for (size_t i = 0; i < group_slots.size(); ++i) {
    const JsonValue& v = slot(group_slots[i]);
    if (!v.present() || IsIdType(v.kind)) continue;
    return Reject(RejectReason::kBadId, reason,
                  absl::StrCat("group id at \"", format.group_paths[i], "\" is ", KindName(v.kind),
                               ", not a string or an integer"));
  }
  return absl::OkStatus();
}

void EventDecoder::Impl::DecodeFields() {
  for (size_t id = 0; id < field_slots.size(); ++id) {
    event.fields[id] = ToFieldValue(slot(field_slots[id]));
  }
  if (user_field == kNoField) return;
  FieldValue& user = event.fields[user_field];
  if (user.kind != FieldValue::Kind::kMissing && user.kind != FieldValue::Kind::kNull) return;
  for (int fallback : user_fallback_slots) {
    if (slot(fallback).present()) {
      user = ToFieldValue(slot(fallback));
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
  JsonPathTree tree;
  d.name_slots = AddPaths(d.format.name_paths, &tree);
  d.time_slots = AddPaths(d.format.time_paths, &tree);
  d.id_slots = AddPaths(d.format.id_paths, &tree);
  if (!d.format.user_path.empty()) d.user_slot = tree.AddPath(d.format.user_path);
  d.user_fallback_slots = AddPaths(d.format.user_fallback_paths, &tree);
  d.group_slots = AddPaths(d.format.group_paths, &tree);
  const int n = catalog == nullptr ? 0 : catalog->size();
  d.field_slots.reserve(static_cast<size_t>(n));
  for (FieldId id = 0; id < n; ++id) d.field_slots.push_back(tree.AddPath(catalog->path(id)));
  tree.Seal();
  if (catalog != nullptr && !d.format.user_path.empty()) {
    d.user_field = catalog->Find(d.format.user_path);
  }
  d.event.fields.assign(static_cast<size_t>(n), FieldValue::Missing());
  // Pre-size the buffers for typical events; they grow (once) for larger ones.
  d.walker.emplace(std::move(tree), std::min(d.max_message_bytes, kInitialCapacity));
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
  JsonKind root_kind = JsonKind::kMissing;
  const simdjson::error_code parse_error = d.walker->Walk(json, &root_kind);
  if (parse_error != simdjson::SUCCESS) {
    return d.Reject(
        RejectReason::kInvalidJson, reason,
        absl::StrCat("message is not valid JSON: ", simdjson::error_message(parse_error)));
  }
  if (root_kind != JsonKind::kObject) {
    return d.Reject(RejectReason::kNotObject, reason,
                    absl::StrCat("message is ", KindName(root_kind), ", not a JSON object"));
  }
  RETURN_IF_ERROR(d.DecodeName(reason));
  RETURN_IF_ERROR(d.DecodeTime(reason));
  RETURN_IF_ERROR(d.DecodeId(reason));
  RETURN_IF_ERROR(d.CheckUserAndGroup(reason));
  d.DecodeFields();
  d.HashKeys();
  *event = &d.event;
  return absl::OkStatus();
}

}  // namespace nsmd
