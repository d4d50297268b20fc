#include "daemon/decode/field_value.h"

#include <charconv>

#include "daemon/decode/key_hash.h"

namespace nsmd {

std::string FieldValue::KeyText() const {
  std::string out;
  AppendKeyText(&out);
  return out;
}

void FieldValue::AppendKeyText(std::string* out) const {
  switch (kind) {
    case Kind::kString: out->append(str.data(), str.size()); return;
    case Kind::kBool: out->append(boolean ? "true" : "false"); return;
    case Kind::kNumber: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), number);
      if (ec == std::errc()) out->append(buf, end);
      return;
    }
    default: return;
  }
}

absl::uint128 FieldValue::KeyHash() const {
  if (key_hashed) return key_hash;
  if (kind == Kind::kString) return HashKeyText(str);
  return HashKeyText(KeyText());
}

void FieldValue::SetKeyHash(std::string* scratch) {
  key_hashed = IsKey();
  if (!key_hashed) {
    key_hash = 0;
  } else if (kind == Kind::kString) {
    key_hash = HashKeyText(str);
  } else {
    scratch->clear();
    AppendKeyText(scratch);
    key_hash = HashKeyText(*scratch);
  }
}

}  // namespace nsmd
