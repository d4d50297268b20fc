// ParseIsoTimestamp: the RFC 3339 subset nsmd accepts for event times.
//
// Grammar (every digit count is exact):
//   timestamp := date sep time [fraction] zone
//   date      := YYYY "-" MM "-" DD
//   sep       := "T" | "t" | " "
//   time      := hh ":" mm ":" ss            (ss may be 60: a leap second)
//   fraction  := "." 1*9DIGIT                (truncated to milliseconds)
//   zone      := "Z" | "z" | ("+" | "-") hh [":"] mm
// Digits are scanned by hand (this runs once per event); the calendar
// (days per month, leap years, days since the epoch) is Abseil's civil time.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/iso_timestamp_internal.h"

namespace nsmd {
namespace decode_internal {
namespace {

// Reads exactly n ASCII digits at p into *out; false if any is not a digit.
inline bool ReadDigits(const char* p, int n, int* out) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const unsigned d = static_cast<unsigned char>(p[i]) - static_cast<unsigned>('0');
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  *out = v;
  return true;
}

constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

}  // namespace

const char* ParseIsoTimestamp(absl::string_view text, int64_t* ms) {
  const char* p = text.data();
  const size_t n = text.size();
  // "YYYY-MM-DDTHH:MM:SS" is 19 bytes; a zone needs at least one more.
  if (n < 20) return "too short";
  int year, month, day, hour, minute, second;
  if (!ReadDigits(p, 4, &year) || p[4] != '-' || !ReadDigits(p + 5, 2, &month) || p[7] != '-' ||
      !ReadDigits(p + 8, 2, &day)) {
    return "date is not YYYY-MM-DD";
  }
  if (p[10] != 'T' && p[10] != 't' && p[10] != ' ') return "no 'T' between date and time";
  if (!ReadDigits(p + 11, 2, &hour) || p[13] != ':' || !ReadDigits(p + 14, 2, &minute) ||
      p[16] != ':' || !ReadDigits(p + 17, 2, &second)) {
    return "time is not hh:mm:ss";
  }
  if (month < 1 || month > 12) return "month out of range";
  if (day < 1 || day > 31) return "day out of range";
  if (hour > 23) return "hour out of range";
  if (minute > 59) return "minute out of range";
  if (second > 60) return "second out of range";
  // Abseil normalizes 2023-02-29 to 2023-03-01: a changed day means no such date.
  const absl::CivilDay date(year, month, day);
  if (date.day() != day) return "no such day in that month";

  size_t i = 19;
  int64_t frac_ms = 0;
  if (p[i] == '.') {
    ++i;
    const size_t start = i;
    int64_t frac = 0;
    while (i < n && i - start < 10) {
      const unsigned d = static_cast<unsigned char>(p[i]) - static_cast<unsigned>('0');
      if (d > 9) break;
      frac = frac * 10 + d;
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0) return "fraction has no digits";
    if (digits > 9) return "fraction longer than 9 digits";
    frac_ms = digits <= 3 ? frac * kPow10[3 - digits] : frac / kPow10[digits - 3];
  }

  if (i >= n) return "no time zone (Z or +hh:mm)";
  int64_t offset_s = 0;
  if (p[i] == 'Z' || p[i] == 'z') {
    ++i;
  } else if (p[i] == '+' || p[i] == '-') {
    const int sign = p[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (n - i < 4 || !ReadDigits(p + i, 2, &oh)) return "zone offset is not +hh:mm";
    i += 2;
    if (p[i] == ':') ++i;
    if (n - i < 2 || !ReadDigits(p + i, 2, &om)) return "zone offset is not +hh:mm";
    i += 2;
    if (oh > 23 || om > 59) return "zone offset out of range";
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return "no time zone (Z or +hh:mm)";
  }
  if (i != n) return "trailing characters";

  // Seconds since the epoch of the local wall time. Abseil counts the days
  // (the difference of two civil days is exact, UTC has no DST); a leap
  // second 60 simply counts as second 0 of the next minute.
  const int64_t days = date - absl::CivilDay(1970, 1, 1);
  const int64_t local_s = days * 86400 + hour * 3600 + minute * 60 + second;
  *ms = (local_s - offset_s) * 1000 + frac_ms;
  return nullptr;
}

std::string QuoteForError(absl::string_view text) {
  constexpr size_t kMax = 64;
  const bool cut = text.size() > kMax;
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMax)), cut ? "...\"" : "\"");
}

}  // namespace decode_internal

absl::Status ParseIsoTimestamp(absl::string_view text, EventTime* time) {
  int64_t ms = 0;
  const char* problem = decode_internal::ParseIsoTimestamp(text, &ms);
  if (problem == nullptr) {
    *time = EventTime(ms);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(decode_internal::QuoteForError(text),
                                                 " is not an ISO-8601 timestamp (", problem, ")"));
}

}  // namespace nsmd
