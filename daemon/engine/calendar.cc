#include "daemon/engine/calendar.h"

namespace nsmd {
namespace {

int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

// Floors the millisecond instant; ToUnixMillis truncates toward zero.
absl::Time FromMs(int64_t ms) { return absl::FromUnixMillis(ms); }

}  // namespace

int64_t Calendar::WindowStart(CalendarUnit unit, int64_t time_ms) const {
  const absl::CivilSecond cs = absl::ToCivilSecond(FromMs(time_ms), zone_);
  switch (unit) {
    case CalendarUnit::kHour:
      // Hours are aligned on the instant: across a DST fall-back the repeated
      // local hour is two distinct windows, so use the absolute hour start
      // reached by stepping back the minutes and seconds.
      return ToMs(FromMs(time_ms) - absl::Minutes(cs.minute()) - absl::Seconds(cs.second()) -
                  absl::Milliseconds(((time_ms % 1000) + 1000) % 1000));
    case CalendarUnit::kDay: return ToMs(absl::FromCivil(absl::CivilDay(cs), zone_));
    case CalendarUnit::kWeek: {
      absl::CivilDay day(cs);
      // Days since the week start: 0..6.
      int back = (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(week_start_) + 7) % 7;
      return ToMs(absl::FromCivil(day - back, zone_));
    }
    case CalendarUnit::kMonth: return ToMs(absl::FromCivil(absl::CivilMonth(cs), zone_));
  }
  return time_ms;
}

int64_t Calendar::NextWindowStart(CalendarUnit unit, int64_t start_ms) const {
  const absl::CivilSecond cs = absl::ToCivilSecond(FromMs(start_ms), zone_);
  switch (unit) {
    case CalendarUnit::kHour: return start_ms + 3600 * 1000;
    case CalendarUnit::kDay: return ToMs(absl::FromCivil(absl::CivilDay(cs) + 1, zone_));
    case CalendarUnit::kWeek: return ToMs(absl::FromCivil(absl::CivilDay(cs) + 7, zone_));
    case CalendarUnit::kMonth: return ToMs(absl::FromCivil(absl::CivilMonth(cs) + 1, zone_));
  }
  return start_ms;
}

int64_t Calendar::PreviousWindowStart(CalendarUnit unit, int64_t start_ms) const {
  const absl::CivilSecond cs = absl::ToCivilSecond(FromMs(start_ms), zone_);
  switch (unit) {
    case CalendarUnit::kHour: return start_ms - 3600 * 1000;
    case CalendarUnit::kDay: return ToMs(absl::FromCivil(absl::CivilDay(cs) - 1, zone_));
    case CalendarUnit::kWeek: return ToMs(absl::FromCivil(absl::CivilDay(cs) - 7, zone_));
    case CalendarUnit::kMonth: return ToMs(absl::FromCivil(absl::CivilMonth(cs) - 1, zone_));
  }
  return start_ms;
}

}  // namespace nsmd
