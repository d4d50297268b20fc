#include "daemon/base/event_time.h"

#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// A sink for AbslStringify, as absl::StrCat would pass one.
struct StringSink {
  std::string text;
  void Append(absl::string_view v) { text.append(v.data(), v.size()); }
  void Append(size_t n, char c) { text.append(n, c); }
};

static_assert(std::is_trivially_copyable_v<EventTime>);
static_assert(sizeof(EventTime) == sizeof(int64_t));
static_assert(!std::is_convertible_v<int64_t, EventTime>);
static_assert(!std::is_convertible_v<EventTime, int64_t>);

// 2023-11-14T22:13:20Z.
constexpr int64_t kMs = 1700000000000;

TEST(EventTimeTest, HoldsMilliseconds) {
  EXPECT_EQ(EventTime().millis(), 0);
  EXPECT_EQ(EventTime::FromMillis(kMs).millis(), kMs);
  EXPECT_EQ(EventTime::FromMillis(-1).millis(), -1);
  static_assert(EventTime::FromMillis(5).millis() == 5);
}

TEST(EventTimeTest, ConvertsToAbslTime) {
  EXPECT_EQ(EventTime::FromMillis(kMs).ToTime(), absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(EventTime().ToTime(), absl::UnixEpoch());
}

TEST(EventTimeTest, MovesByDurations) {
  const EventTime t = EventTime::FromMillis(kMs);
  EXPECT_EQ((t + absl::Minutes(1)).millis(), kMs + 60000);
  EXPECT_EQ((t - absl::Seconds(2)).millis(), kMs - 2000);
  EXPECT_EQ((t + absl::Microseconds(1999)).millis(), kMs + 1);  // truncated
  EXPECT_EQ(EventTime::FromMillis(kMs + 1500) - t, absl::Milliseconds(1500));
  EXPECT_EQ(t - EventTime::FromMillis(kMs + 1500), absl::Milliseconds(-1500));
}

TEST(EventTimeTest, OrdersByInstant) {
  EXPECT_EQ(EventTime::FromMillis(3), EventTime::FromMillis(3));
  EXPECT_NE(EventTime::FromMillis(3), EventTime::FromMillis(4));
  EXPECT_LT(EventTime::FromMillis(-1), EventTime());
  EXPECT_GT(EventTime::FromMillis(kMs), EventTime::FromMillis(kMs - 1));
}

TEST(EventTimeTest, HashesConsistentlyInAFlatHashSet) {
  EXPECT_EQ(absl::Hash<EventTime>()(EventTime::FromMillis(kMs)),
            absl::Hash<EventTime>()(EventTime::FromMillis(kMs)));
  absl::flat_hash_set<EventTime> set = {EventTime::FromMillis(kMs), EventTime::FromMillis(kMs),
                                        EventTime::FromMillis(kMs) + absl::Milliseconds(1)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(EventTime::FromMillis(kMs + 1)));
  EXPECT_FALSE(set.contains(EventTime()));
}

TEST(EventTimeTest, Prints) {
  StringSink sink;
  AbslStringify(sink, EventTime::FromMillis(kMs));
  EXPECT_EQ(sink.text, "1700000000000");
  EXPECT_EQ(absl::StrFormat("t=%d|%3d|", EventTime::FromMillis(kMs), EventTime::FromMillis(-5)),
            "t=1700000000000| -5|");
#if ABSL_LTS_RELEASE_VERSION >= 20230125
  EXPECT_EQ(absl::StrCat("t=", EventTime::FromMillis(kMs)), "t=1700000000000");
#endif
}

}  // namespace
}  // namespace nsmd
