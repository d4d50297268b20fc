// Tests for ParseIsoTimestamp.
//
// Hand derivations use two anchors:
//   2024-01-01T00:00:00Z: 1970..2023 is 54 years with 13 leap years (1972,
//     1976, ..., 2020), so 54*365 + 13 = 19723 days; 19723*86400 s =
//     1704067200 s.
//   2017-01-01T00:00:00Z: 1970..2016 is 47 years with 12 leap years (1972 ..
//     2016), so 47*365 + 12 = 17167 days; 17167*86400 s = 1483228800 s.
#include <cstdint>

#include "absl/status/status.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using ::testing::HasSubstr;

// 2024-03-31T01:30:00Z: 2024-01-01 + 31 (Jan) + 29 (Feb, leap) + 30 (Mar 1
// to Mar 31) = 19723 + 90 = 19813 days; 19813*86400 = 1711843200 s; plus
// 1h30m = 5400 s gives 1711848600 s.
constexpr int64_t kMar31At0130Utc = 1711848600000;

// The parsed time's milliseconds.
int64_t Parse(const char* text) {
  EventTime time(-42);
  absl::Status s = ParseIsoTimestamp(text, &time);
  EXPECT_OK(s) << text << ": " << s;
  return time.millis();
}

TEST(ParseIsoTimestampTest, UtcZulu) {
  EXPECT_EQ(Parse("2024-03-31T01:30:00Z"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31t01:30:00z"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31 01:30:00Z"), kMar31At0130Utc);
}

TEST(ParseIsoTimestampTest, OffsetsNameTheSameInstant) {
  // 03:30 at UTC+2 is 01:30 UTC; 20:30 on the 30th at UTC-5 is 01:30 UTC on
  // the 31st; 07:00 at UTC+05:30 is 01:30 UTC.
  EXPECT_EQ(Parse("2024-03-31T03:30:00+02:00"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31T03:30:00+0200"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31 03:30:00+02:00"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-30T20:30:00-05:00"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31T07:00:00+05:30"), kMar31At0130Utc);
  EXPECT_EQ(Parse("2024-03-31T01:30:00-00:00"), kMar31At0130Utc);
}

TEST(ParseIsoTimestampTest, FractionsTruncateToMilliseconds) {
  EXPECT_EQ(Parse("2024-03-31T01:30:00.5Z"), kMar31At0130Utc + 500);  // .5 s
  EXPECT_EQ(Parse("2024-03-31T01:30:00.05Z"), kMar31At0130Utc + 50);  // .05 s
  EXPECT_EQ(Parse("2024-03-31T01:30:00.123Z"), kMar31At0130Utc + 123);
  EXPECT_EQ(Parse("2024-03-31T01:30:00.1239Z"), kMar31At0130Utc + 123);       // 123.9 ms
  EXPECT_EQ(Parse("2024-03-31T01:30:00.123456789Z"), kMar31At0130Utc + 123);  // 123.456789 ms
  EXPECT_EQ(Parse("2024-03-31T03:30:00.999+02:00"), kMar31At0130Utc + 999);
}

TEST(ParseIsoTimestampTest, CalendarEdges) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  // 2024 is a leap year: 2024-01-01 + 31 + 28 days = 19782 days = 1709164800 s.
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z"), 1709164800000);
  // A leap second is second 0 of the next minute: 2017-01-01T00:00:00Z.
  EXPECT_EQ(Parse("2016-12-31T23:59:60Z"), 1483228800000);
  // Before the epoch, fractions still truncate toward negative infinity:
  // 23:59:59.5 on 1969-12-31 is 0.5 s before the epoch.
  EXPECT_EQ(Parse("1969-12-31T23:59:59.5Z"), -500);
  // 1970-01-01 .. 10000-01-01 is 8030 years with 1947 leap days (2007
  // multiples of 4 in 1972..9996, less the 60 centuries of 2100..9900 that
  // are not multiples of 400): 2932897 days = 253402300800 s.
  EXPECT_EQ(Parse("9999-12-31T23:59:59.999Z"), 253402300799999);
}

TEST(ParseIsoTimestampTest, RejectsWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"2024-13-01T00:00:00Z", "month out of range"},
      {"2024-00-01T00:00:00Z", "month out of range"},
      {"2023-02-29T00:00:00Z", "no such day in that month"},  // 2023 is not leap
      {"2024-04-31T00:00:00Z", "no such day in that month"},
      {"2024-01-00T00:00:00Z", "day out of range"},
      {"2024-01-01T24:00:00Z", "hour out of range"},
      {"2024-01-01T00:60:00Z", "minute out of range"},
      {"2024-01-01T00:00:61Z", "second out of range"},
      {"2024-01-01T00:00:00", "too short"},
      {"2024-01-01T00:00:00.5", "no time zone"},
      {"2024-01-01T00:00:00Q", "no time zone"},
      {"2024-01-01T00:00:00.Z", "fraction has no digits"},
      {"2024-01-01T00:00:00.1234567890Z", "fraction longer than 9 digits"},
      {"2024-01-01T00:00:00+24:00", "zone offset out of range"},
      {"2024-01-01T00:00:00+02:60", "zone offset out of range"},
      {"2024-01-01T00:00:00+02", "zone offset is not +hh:mm"},
      {"2024-01-01T00:00:00+02:0", "zone offset is not +hh:mm"},
      {"2024-01-01T00:00:00Zjunk", "trailing characters"},
      {"2024-01-01T00:00:00+02:00 ", "trailing characters"},
      {"2024-01-01X00:00:00Z", "no 'T' between date and time"},
      {"2024/01/01T00:00:00Z", "date is not YYYY-MM-DD"},
      {"24-01-01T00:00:00Z+00", "date is not YYYY-MM-DD"},
      {"2024-01-01T0:00:00ZZZ", "time is not hh:mm:ss"},
      {"", "too short"},
      {"1711848600000", "too short"},
  };
  for (const Case& c : cases) {
    EventTime time(7);
    absl::Status s = ParseIsoTimestamp(c.text, &time);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.reason)) << c.text;
    EXPECT_EQ(time, EventTime(7)) << c.text << ": output written on failure";
  }
}

TEST(ParseIsoTimestampTest, MessageQuotesTheText) {
  EventTime time;
  EXPECT_EQ(ParseIsoTimestamp("2024-13-01T00:00:00Z", &time).message(),
            "\"2024-13-01T00:00:00Z\" is not an ISO-8601 timestamp (month out of range)");
}

}  // namespace
}  // namespace nsmd
