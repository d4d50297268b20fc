#include "daemon/engine/calendar.h"

#include "gtest/gtest.h"
#include "tests/engine/test_events.h"

namespace nsmd {
namespace {

// Reference instants, derived by hand:
//   2024-01-01T00:00Z = 1704067200 s (a Monday).
//   2024-03-25T00:00Z = 1704067200 + (31 + 29 + 24) days * 86400 = 1711324800.
//   2024-04-01T00:00Z = 1711324800 + 7 * 86400 = 1711929600.
constexpr int64_t kJan1 = 1704067200000;
constexpr int64_t kMar25 = 1711324800000;
constexpr int64_t kApr1 = 1711929600000;

TEST(CalendarTest, UtcWeekStartsMonday) {
  Calendar cal(absl::UTCTimeZone(), absl::Weekday::monday);
  // Wednesday 2024-01-03 12:00 belongs to the week of Monday Jan 1.
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, kJan1 + (2 * 24 + 12) * 3600000LL), kJan1);
  // The Monday midnight itself opens the week; one ms before is the old week.
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, kJan1), kJan1);
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, kJan1 - 1), kJan1 - 7 * 86400000LL);
  EXPECT_EQ(cal.NextWindowStart(CalendarUnit::kWeek, kJan1), kJan1 + 7 * 86400000LL);
}

TEST(CalendarTest, UtcWeekStartsSunday) {
  Calendar cal(absl::UTCTimeZone(), absl::Weekday::sunday);
  // Sunday 2023-12-31 opens the week containing Wednesday Jan 3.
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, kJan1 + 2 * 86400000LL), kJan1 - 86400000LL);
}

TEST(CalendarTest, BerlinWeekAcrossSpringForwardIs167Hours) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  Calendar cal(berlin, absl::Weekday::monday);
  // Clocks jump 02:00 CET -> 03:00 CEST on Sunday 2024-03-31.
  // Week start: Monday Mar 25 00:00 CET (UTC+1) = Mar 24 23:00Z.
  const int64_t start = kMar25 - 3600000;
  // Next week: Monday Apr 1 00:00 CEST (UTC+2) = Mar 31 22:00Z.
  const int64_t next = kApr1 - 7200000;
  const int64_t sunday_noon_utc = kMar25 + 6 * 86400000LL + 12 * 3600000LL;
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, sunday_noon_utc), start);
  EXPECT_EQ(cal.NextWindowStart(CalendarUnit::kWeek, start), next);
  EXPECT_EQ(next - start, 167 * 3600000LL);
  // Mar 31 22:30Z is already Monday 00:30 CEST: the new week.
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kWeek, next + 30 * 60000), next);
}

TEST(CalendarTest, BerlinDayOfSpringForwardIs23Hours) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  Calendar cal(berlin, absl::Weekday::monday);
  // 2024-03-31 00:00 CET = Mar 30 23:00Z = kMar25 + 6 days - 1 h.
  const int64_t day = kMar25 + 6 * 86400000LL - 3600000;
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kDay, day + 10 * 3600000LL), day);
  EXPECT_EQ(cal.NextWindowStart(CalendarUnit::kDay, day) - day, 23 * 3600000LL);
  EXPECT_EQ(cal.PreviousWindowStart(CalendarUnit::kDay, day), day - 24 * 3600000LL);
}

TEST(CalendarTest, MonthLengths) {
  Calendar cal(absl::UTCTimeZone(), absl::Weekday::monday);
  // Feb 2024 (leap): 2024-02-01 = kJan1 + 31 days; March 1 is 29 days later.
  const int64_t feb2024 = kJan1 + 31 * 86400000LL;
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kMonth, feb2024 + 15 * 86400000LL), feb2024);
  EXPECT_EQ(cal.NextWindowStart(CalendarUnit::kMonth, feb2024), feb2024 + 29 * 86400000LL);
  // Feb 2023: 2023-02-01T00:00Z = 1675209600 s; 28 days long.
  const int64_t feb2023 = 1675209600000;
  EXPECT_EQ(cal.NextWindowStart(CalendarUnit::kMonth, feb2023), feb2023 + 28 * 86400000LL);
  // January is 31 days: previous month of Feb 2024 starts at kJan1.
  EXPECT_EQ(cal.PreviousWindowStart(CalendarUnit::kMonth, feb2024), kJan1);
  EXPECT_EQ(UtcMs(2024, 2, 1), feb2024);
}

TEST(CalendarTest, HoursInHalfHourZone) {
  absl::TimeZone kolkata;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Kolkata", &kolkata));
  Calendar cal(kolkata, absl::Weekday::monday);
  // UTC+5:30: local hours start at hh:30Z. 00:45Z is 06:15 local -> 00:30Z.
  EXPECT_EQ(cal.WindowStart(CalendarUnit::kHour, kJan1 + 45 * 60000), kJan1 + 30 * 60000);
}

}  // namespace
}  // namespace nsmd
