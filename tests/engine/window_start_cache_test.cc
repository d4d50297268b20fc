#include "daemon/engine/window_start_cache.h"

#include "gtest/gtest.h"

namespace nsmd {
namespace {

// 2024-03-25T00:00Z = 1711324800 s (see calendar_test.cc).
constexpr int64_t kMar25 = 1711324800000;
constexpr int64_t kHour = 3600000;

TEST(WindowStartCacheTest, BerlinDaysAcrossSpringForwardInAndOutOfOrder) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  Calendar cal(berlin, absl::Weekday::monday);
  WindowStartCache cache(CalendarUnit::kDay);
  // Berlin days, by hand: Saturday Mar 30 starts 00:00 CET = Mar 29 23:00Z;
  // Sunday Mar 31 (23 hours long) starts Mar 30 23:00Z; Monday Apr 1 starts
  // 00:00 CEST = Mar 31 22:00Z.
  const int64_t sat = kMar25 + 5 * 24 * kHour - kHour;
  const int64_t sun = kMar25 + 6 * 24 * kHour - kHour;
  const int64_t mon = kMar25 + 7 * 24 * kHour - 2 * kHour;
  EXPECT_EQ(cache.Get(cal, sun), sun);
  EXPECT_EQ(cache.Get(cal, sun + 22 * kHour + kHour - 1), sun);  // last ms of the 23 h day
  EXPECT_EQ(cache.Get(cal, mon), mon);                           // the 23rd hour is Monday
  EXPECT_EQ(cache.Get(cal, sun + kHour), sun);                   // back again: a miss
  EXPECT_EQ(cache.Get(cal, sat + 5), sat);                       // older window
  EXPECT_EQ(cache.Get(cal, sun - 1), sat);                       // its last ms
  EXPECT_EQ(cache.Get(cal, sun), sun);
}

TEST(WindowStartCacheTest, AgreesWithTheCalendarOverEveryQuarterHourOfTwoMonths) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  Calendar cal(berlin, absl::Weekday::sunday);
  for (CalendarUnit unit :
       {CalendarUnit::kHour, CalendarUnit::kDay, CalendarUnit::kWeek, CalendarUnit::kMonth}) {
    WindowStartCache cache(unit);
    // Both DST changes of 2024 (Mar 31, Oct 27) lie in these ranges; an odd
    // step of 15 min + 7 ms hits window edges from both sides.
    for (int64_t start : {kMar25 - 30 * 24 * kHour, kMar25 + 200 * 24 * kHour}) {
      for (int64_t t = start; t < start + 60 * 24 * kHour; t += 15 * 60000 + 7) {
        ASSERT_EQ(cache.Get(cal, t), cal.WindowStart(unit, t))
            << CalendarUnitName(unit) << " at " << t;
      }
    }
  }
}

}  // namespace
}  // namespace nsmd
