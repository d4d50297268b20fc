#include "daemon/config/duration_text.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nsmd {

absl::StatusOr<absl::Duration> ParseDurationText(absl::string_view text) {
  if (text == "0") return absl::ZeroDuration();
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  int64_t n = 0;
  const absl::string_view unit = text.substr(digits);
  if (digits == 0 || digits > 12 || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad duration \"", text, "\": expected a number and a unit, e.g. 90s, 72h, 7d"));
  }
  if (unit == "ms") return absl::Milliseconds(n);
  if (unit == "s") return absl::Seconds(n);
  if (unit == "m") return absl::Minutes(n);
  if (unit == "h") return absl::Hours(n);
  if (unit == "d") return absl::Hours(24 * n);
  if (unit == "w") return absl::Hours(24 * 7 * n);
  return absl::InvalidArgumentError(absl::StrCat(
      "bad duration \"", text, "\": unit must be one of ms, s, m, h, d, w (e.g. 72h, 7d)"));
}

}  // namespace nsmd
