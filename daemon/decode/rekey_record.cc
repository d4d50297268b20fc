#include "daemon/decode/rekey_record.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

// Version 1: a version byte, then
//   string origin source, varint origin offset, varint time (ms),
//   string name, string id, varint field count, then per field:
//   string path, kind byte, and for a bool one byte, for a number its
//   8-byte IEEE double (little-endian), for a string a string.
// A string is a varint length and its bytes; varints are LEB128.
constexpr char kVersion = 1;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(absl::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s.data(), s.size());
}

// Reads from the front of *in; false when it runs out or is malformed.
bool GetVarint(absl::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetString(absl::string_view* in, absl::string_view* s) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

void EncodeRekeyRecord(const Event& event, const FieldCatalog& catalog, const RekeyOrigin& origin,
                       std::string* out) {
  out->push_back(kVersion);
  PutString(origin.source, out);
  // An origin without an offset is written as -1, as it always was.
  PutVarint(static_cast<uint64_t>(origin.offset ? origin.offset->value() : -1), out);
  PutVarint(static_cast<uint64_t>(event.time.millis()), out);
  PutString(event.name, out);
  PutString(event.id, out);
  uint64_t present = 0;
  for (const FieldValue& f : event.fields) present += f.kind != FieldValue::Kind::kMissing;
  PutVarint(present, out);
  for (size_t i = 0; i < event.fields.size(); ++i) {
    const FieldValue& f = event.fields[i];
    if (f.kind == FieldValue::Kind::kMissing) continue;
    PutString(catalog.path(static_cast<FieldId>(i)), out);
    out->push_back(static_cast<char>(f.kind));
    switch (f.kind) {
      case FieldValue::Kind::kBool: out->push_back(f.boolean ? 1 : 0); break;
      case FieldValue::Kind::kNumber: {
        char bytes[sizeof(double)];
        std::memcpy(bytes, &f.number, sizeof bytes);  // x86-64 and arm64: little-endian
        out->append(bytes, sizeof bytes);
        break;
      }
      case FieldValue::Kind::kString: PutString(f.str, out); break;
      case FieldValue::Kind::kMissing:
      case FieldValue::Kind::kNull:
      case FieldValue::Kind::kComposite: break;
    }
  }
}

RekeyRecordDecoder::RekeyRecordDecoder(const FieldCatalog* catalog,
                                       std::vector<FieldId> hashed_fields)
    : catalog_(catalog), hashed_fields_(std::move(hashed_fields)) {}

absl::Status RekeyRecordDecoder::Decode(absl::string_view bytes, const Event** event,
                                        RejectReason* reason, RekeyOrigin* origin) {
  auto bad = [reason](absl::string_view what) {
    *reason = RejectReason::kInvalidJson;
    return absl::InvalidArgumentError(absl::StrCat("not a version 1 rekey record: ", what));
  };
  buffer_.assign(bytes.data(), bytes.size());
  absl::string_view in = buffer_;
  if (in.empty() || in.front() != kVersion) return bad("unknown version");
  in.remove_prefix(1);
  Event& e = event_;
  e.fields.assign(static_cast<size_t>(catalog_->size()), FieldValue::Missing());
  e.id_hashed = false;
  uint64_t offset = 0, time = 0, count = 0;
  if (!GetString(&in, &origin->source) || !GetVarint(&in, &offset) || !GetVarint(&in, &time) ||
      !GetString(&in, &e.name) || !GetString(&in, &e.id) || !GetVarint(&in, &count)) {
    return bad("truncated header");
  }
  if (static_cast<int64_t>(offset) >= 0) {
    origin->offset = KafkaOffset(static_cast<int64_t>(offset));
  } else {
    origin->offset.reset();
  }
  e.time = EventTime(static_cast<int64_t>(time));
  for (uint64_t i = 0; i < count; ++i) {
    absl::string_view path;
    if (!GetString(&in, &path) || in.empty()) return bad("truncated field");
    const auto kind = static_cast<FieldValue::Kind>(in.front());
    in.remove_prefix(1);
    FieldValue value;
    switch (kind) {
      case FieldValue::Kind::kNull: value = FieldValue::Null(); break;
      case FieldValue::Kind::kComposite: value = FieldValue::Composite(); break;
      case FieldValue::Kind::kBool:
        if (in.empty()) return bad("truncated bool");
        value = FieldValue::Bool(in.front() != 0);
        in.remove_prefix(1);
        break;
      case FieldValue::Kind::kNumber: {
        if (in.size() < sizeof(double)) return bad("truncated number");
        double d = 0;
        std::memcpy(&d, in.data(), sizeof d);
        value = FieldValue::Number(d);
        in.remove_prefix(sizeof d);
        break;
      }
      case FieldValue::Kind::kString: {
        absl::string_view s;
        if (!GetString(&in, &s)) return bad("truncated string");
        value = FieldValue::String(s);
        break;
      }
      case FieldValue::Kind::kMissing:
      default: return bad(absl::StrCat("field kind ", static_cast<int>(kind)));
    }
    const FieldId id = catalog_->Find(path);
    if (id != kNoField) e.fields[id] = value;
  }
  if (!in.empty()) return bad("trailing bytes");
  for (FieldId f : hashed_fields_) {
    if (f >= 0 && static_cast<size_t>(f) < e.fields.size() && e.fields[f].IsKey()) {
      e.fields[f].SetKeyHash(&scratch_);
    }
  }
  *event = &e;
  return absl::OkStatus();
}

}  // namespace nsmd
