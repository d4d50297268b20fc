#include "daemon/export/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nsmd {

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (first_.back()) {
    first_.back() = false;
  } else {
    out_.push_back(',');
  }
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_.push_back(c);
  first_.push_back(true);
}

void JsonWriter::Close(char c) {
  if (!first_.empty()) first_.pop_back();
  after_key_ = false;
  out_.push_back(c);
}

void JsonWriter::BeginObject() { Open('{'); }
void JsonWriter::EndObject() { Close('}'); }
void JsonWriter::BeginArray() { Open('['); }
void JsonWriter::EndArray() { Close(']'); }

void JsonWriter::Key(absl::string_view key) {
  String(key);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(absl::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  BeforeValue();
  out_.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\b': out_.append("\\b"); break;
      case '\f': out_.append("\\f"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20) {
          out_.append("\\u00");
          out_.push_back(kHex[u >> 4]);
          out_.push_back(kHex[u & 0xf]);
        } else {
          out_.push_back(c);
        }
      }
    }
  }
  out_.push_back('"');
}

void JsonWriter::Number(double value) {
  if (!std::isfinite(value)) {
    Null();
    return;
  }
  BeforeValue();
  if (value == 0) {  // also -0.0
    out_.push_back('0');
    return;
  }
  // 1e21 is where JavaScript switches to exponents too; below it every
  // integral double has at most 21 digits.
  std::array<char, 64> buf;
  std::to_chars_result r;
  if (std::trunc(value) == value && std::fabs(value) < 1e21) {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  }
  // 64 bytes hold any shortest double and any fixed integer below 1e21.
  out_.append(buf.data(), r.ptr);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

std::string JsonWriter::Take() {
  std::string out = std::move(out_);
  out_.clear();
  first_.clear();
  after_key_ = false;
  return out;
}

}  // namespace nsmd
