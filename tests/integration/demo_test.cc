// `make demo` end to end: `nsmd run --config config/demo.yaml` (embedded
// broker, built-in generator) with --listen and --state-dir overriding the
// file. Covers the failures "an event added by hand, stamped now, is dropped
// as late" (the generator ran ahead of the clock) and "every demo after the
// first shows frozen metrics" (state outlived the embedded broker).
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

constexpr char kNorthStar[] = R"(nsm_metric_value{metric="active_teams",window="current"})";
constexpr char kNorthStarStart[] =
    R"(nsm_metric_window_start_seconds{metric="active_teams",window="current"})";
constexpr char kReadingToday[] = R"(nsm_metric_value{metric="daily_reading_ms",window="current"})";
constexpr char kReadingYesterday[] =
    R"(nsm_metric_value{metric="daily_reading_ms",window="previous"})";
// The hand-made event's properties.duration_ms: far more than the generator
// can add to a day in a test's lifetime (at most 120000 per event, about
// 1000 events a second), so a day's daily_reading_ms at or above it means
// this event was applied.
constexpr double kHandMadeDurationMs = 1e13;

// Series -> value of one scrape of /metrics; a missing series reads as -1.
double Scrape(int port, const std::string& series) {
  auto r = testing::HttpRequest(port, "GET", "/metrics");
  if (!r.ok() || r->status != 200) return -1;
  auto v = testing::PrometheusValue(r->body, series);
  return v.ok() ? *v : -1;
}

// Polls /metrics until `done(value of series)` holds, up to `timeout`.
template <typename Predicate>
bool AwaitSeries(int port, const std::string& series, Predicate done,
                 absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done(Scrape(port, series))) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nsmd-demo");
    port_ = testing::FreePort();
  }
  void TearDown() override {
    nsmd_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts the demo config with the test's port and state dir; log to `log`.
  void StartDemo(const std::string& log) {
    auto nsmd = testing::StartNsmd(
        std::string(NSMD_SOURCE_DIR) + "/config/demo.yaml", log,
        {"--listen", absl::StrCat("127.0.0.1:", port_), "--state-dir", (dir_ / "state").string()});
    ASSERT_OK(nsmd);
    nsmd_ = std::move(*nsmd);
    ASSERT_OK(testing::AwaitHttpStatus(port_, "/readyz", 200, absl::Seconds(20)))
        << testing::ReadFile(log);
  }

  // The north star's series exist, and it or its window moves between two
  // scrapes (the generator's events arrive and are applied).
  void ExpectNorthStarMoves(const std::string& log) {
    double value = -1, start = -1;
    ASSERT_TRUE(AwaitSeries(port_, kNorthStar, [&](double v) {
      value = v;
      return v >= 0;
    })) << testing::ReadFile(log);
    start = Scrape(port_, kNorthStarStart);
    ASSERT_GT(start, 0);
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    bool moved = false;
    while (!moved && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
      moved = Scrape(port_, kNorthStar) != value || Scrape(port_, kNorthStarStart) != start;
    }
    EXPECT_TRUE(moved) << "active_teams stayed at " << value << "\n" << testing::ReadFile(log);
  }

  // SIGTERM; expects exit 0 within 15 s.
  void StopDemo() {
    const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(15));
    EXPECT_OK(stopped);
    nsmd_.reset();
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<testing::Subprocess> nsmd_;
};

// The address in "embedded Kafka broker listening on 127.0.0.1:PORT (".
std::string BrokerFromLog(const std::string& log) {
  const std::string marker = "embedded Kafka broker listening on ";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return log.substr(begin, log.find(' ', begin) - begin);
}

TEST_F(DemoTest, HandMadeEventIsAppliedNotLateAndEveryRestartWorks) {
  const std::string log = (dir_ / "nsmd.log").string();
  StartDemo(log);
  ExpectNorthStarMoves(log);

  // The generator replays 14 days at 240000x (about 5 s), then follows the
  // wall clock: wait until stream time is within 10 minutes of now.
  ASSERT_TRUE(AwaitSeries(port_, "nsmd_stream_time_seconds", [](double t) {
    return t >= static_cast<double>(absl::ToUnixSeconds(absl::Now() - absl::Minutes(10)));
  })) << testing::ReadFile(log);

  const std::string broker = BrokerFromLog(testing::ReadFile(log));
  ASSERT_TRUE(absl::StartsWith(broker, "127.0.0.1:")) << testing::ReadFile(log);
  const double late_before = Scrape(port_, "nsmd_events_late_total");
  const double applied_before = Scrape(port_, "nsmd_events_applied_total");
  ASSERT_GE(late_before, 0);
  ASSERT_GT(applied_before, 0);

  // One event by hand, stamped now, as README's kcat example does.
  auto producer = KafkaProducer::Create(broker, {});
  ASSERT_OK(producer);
  const std::string now =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  ASSERT_OK(
      (*producer)->Produce("product-events", "me",
                           absl::StrCat(R"({"type":"track","event":"page_viewed","userId":"me",)",
                                        R"("context":{"groupId":"team-0001"},"timestamp":")", now,
                                        R"(","properties":{"duration_ms":)",
                                        static_cast<int64_t>(kHandMadeDurationMs), "}}")));
  ASSERT_OK((*producer)->Flush(absl::Seconds(10)));

  // Applied: today's reading time includes it (or yesterday's, if the day
  // turned since it was stamped).
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  bool applied = false;
  while (!applied && absl::Now() < deadline) {
    applied = Scrape(port_, kReadingToday) >= kHandMadeDurationMs ||
              Scrape(port_, kReadingYesterday) >= kHandMadeDurationMs;
    if (!applied) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(applied) << testing::ReadFile(log);
  // The generator's events after it, on every partition, are not late
  // either: wait for 1000 more to be consumed, then compare.
  const double consumed = Scrape(port_, "nsmd_events_consumed_total");
  ASSERT_TRUE(AwaitSeries(port_, "nsmd_events_consumed_total",
                          [&](double c) { return c >= consumed + 1000; }));
  EXPECT_EQ(Scrape(port_, "nsmd_events_late_total"), late_before);
  EXPECT_GT(Scrape(port_, "nsmd_events_applied_total"), applied_before);
  StopDemo();

  // Again on the same state dir: the new embedded broker has none of the old
  // offsets; the old state is deleted (and the log says so) and the demo
  // runs as the first time did.
  const std::string log2 = (dir_ / "nsmd2.log").string();
  StartDemo(log2);
  ExpectNorthStarMoves(log2);
  EXPECT_TRUE(AwaitSeries(port_, "nsmd_events_applied_total", [](double a) { return a > 0; }));
  const std::string text = testing::ReadFile(log2);
  EXPECT_TRUE(absl::StrContains(text, "deleted the state of the previous run")) << text;
  EXPECT_FALSE(absl::StrContains(text, "Offset out of range")) << text;
  EXPECT_FALSE(absl::StrContains(text, "CONFWARN")) << text;
  StopDemo();
}

}  // namespace
}  // namespace nsmd
