// EventGenerator's event clock, with an injected wall clock: it starts
// `history` in the past, runs `time_scale` times faster until it reaches the
// wall clock, then follows it, never ahead.
#include "daemon/source/event_generator.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/source/kafka_source.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

absl::Time Utc(const char* text) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &error)) << error;
  return t;
}

// The wall clock at Create() in every test: 2024-03-04T12:00:00Z.
const absl::Time kStart = Utc("2024-03-04T12:00:00Z");

class EventGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start();
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    ASSERT_OK(broker_->CreateTopic("demo", 1));
  }

  // A generator whose wall clock reads `now_` (kStart at creation).
  std::unique_ptr<EventGenerator> Generator(absl::Duration history, double time_scale) {
    EventGenerator::Options o;
    o.brokers = broker_->bootstrap_servers();
    o.topic = "demo";
    o.events_per_second = 20;
    o.history = history;
    o.time_scale = time_scale;
    o.clock = [this] { return absl::FromUnixNanos(now_ns_.load()); };
    now_ns_ = absl::ToUnixNanos(kStart);
    auto generator = EventGenerator::Create(std::move(o));
    EXPECT_OK(generator);
    return generator.ok() ? std::move(*generator) : nullptr;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::atomic<int64_t> now_ns_{0};
};

TEST_F(EventGeneratorTest, CompressesHistoryUntilItReachesTheWallClockThenFollowsIt) {
  // 14 days = 1209600 s behind, 673x: the gap shrinks by 672 s per wall
  // second, so it closes after 1209600 / 672 = 1800 s, at 12:30:00.
  auto g = Generator(absl::Hours(14 * 24), 673);
  ASSERT_NE(g, nullptr);
  // At creation: 14 days before, 2024-02-19T12:00:00Z.
  EXPECT_EQ(g->EventTimeAt(kStart), Utc("2024-02-19T12:00:00Z"));
  // 60 s later: 60 * 673 = 40380 s = 11h13m of event time have passed.
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Seconds(60)), Utc("2024-02-19T23:13:00Z"));
  // 1799 s later: 1799 * 673 - 1209600 = 1127 s after kStart = 12:18:47,
  // still 672 s behind the wall clock (12:29:59).
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Seconds(1799)), Utc("2024-03-04T12:18:47Z"));
  // 1800 s later: caught up exactly, 12:30:00.
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Seconds(1800)), Utc("2024-03-04T12:30:00Z"));
  // From then on the wall clock itself, never ahead: one hour after the
  // start the compressed time would be 3600 * 673 - 1209600 = 1213200 s
  // after kStart (14 days ahead); the event time is 13:00:00.
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Hours(1)), Utc("2024-03-04T13:00:00Z"));
}

TEST_F(EventGeneratorTest, WithoutHistoryEventTimeIsTheWallClockWhateverTheScale) {
  auto g = Generator(absl::ZeroDuration(), 600);
  ASSERT_NE(g, nullptr);
  // min(now, start + 600 * (now - start)) = now for every now >= start.
  EXPECT_EQ(g->EventTimeAt(kStart), kStart);
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Seconds(60)), Utc("2024-03-04T12:01:00Z"));
}

TEST_F(EventGeneratorTest, AtScaleOneTheHistoryGapStays) {
  auto g = Generator(absl::Hours(1), 1);
  ASSERT_NE(g, nullptr);
  // start - 1h + (now - start): always one hour behind; 10 min after the
  // start that is 11:10:00.
  EXPECT_EQ(g->EventTimeAt(kStart + absl::Minutes(10)), Utc("2024-03-04T11:10:00Z"));
}

TEST_F(EventGeneratorTest, ProducedEventsAreStampedWithTheInjectedClocksEventTime) {
  auto g = Generator(absl::Hours(14 * 24), 673);
  ASSERT_NE(g, nullptr);
  // The wall clock stands still 60 s after the start: every event is
  // stamped 2024-02-19T23:13:00.000Z (as in the first test).
  now_ns_ = absl::ToUnixNanos(kStart + absl::Seconds(60));
  g->Start();
  KafkaSource::Options o;
  o.brokers = broker_->bootstrap_servers();
  o.group_id = "generator-test";
  o.topics = {"demo"};
  auto source = KafkaSource::Create(std::move(o));
  ASSERT_OK(source);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int received = 0;
  while (received < 3 && absl::Now() < deadline) {
    auto polled = (*source)->Poll(10, absl::Milliseconds(100), [&](const SourceMessage& m) {
      ++received;
      EXPECT_TRUE(absl::StrContains(m.payload, R"("timestamp":"2024-02-19T23:13:00.000Z")"))
          << m.payload;
    });
    ASSERT_OK(polled);
  }
  g->Stop();
  (*source)->Close();
  EXPECT_GE(received, 3);
  EXPECT_GE(g->produced(), 3u);
}

}  // namespace
}  // namespace nsmd
