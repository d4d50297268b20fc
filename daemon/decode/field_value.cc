#include "daemon/decode/field_value.h"

#include <charconv>

namespace nsmd {

std::string FieldValue::KeyText() const {
  std::string out;
  AppendKeyText(&out);
  return out;
}

void FieldValue::AppendKeyText(std::string* out) const {
  switch (kind) {
    case Kind::kString:
      out->append(str.data(), str.size());
      return;
    case Kind::kBool:
      out->append(boolean ? "true" : "false");
      return;
    case Kind::kNumber: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), number);
      if (ec == std::errc()) out->append(buf, end);
      return;
    }
    default:
      return;
  }
}

}  // namespace nsmd
