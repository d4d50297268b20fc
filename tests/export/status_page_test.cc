#include "daemon/export/status_page.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

MetricDefinition Metric(const std::string& name, MetricRole role,
                        std::vector<std::string> inputs = {}) {
  MetricDefinition m;
  m.name = name;
  m.metadata.role = role;
  m.metadata.inputs = std::move(inputs);
  return m;
}

SeriesSample Sample(const std::string& metric, const std::string& window, double value,
                    Labels labels = {}) {
  SeriesSample s;
  s.metric = metric;
  s.window = window;
  s.value = value;
  s.labels = std::move(labels);
  s.window_start_ms = 1704153600000;  // 2024-01-02T00:00:00Z
  return s;
}

const absl::Time kNow = absl::FromUnixSeconds(1704153600 + 3 * 86400 + 3600);

TEST(StatusPageTest, ShowsValuesTreeAndHealth) {
  std::vector<MetricDefinition> metrics = {
      Metric("guard", MetricRole::kGuardrail), Metric("orphan", MetricRole::kInput),
      Metric("ns", MetricRole::kNorthStar, {"a", "b"}), Metric("a", MetricRole::kInput, {"b"}),
      Metric("b", MetricRole::kFocus)};
  metrics[2].metadata.decision_question = "What <changed> & why?";
  metrics[3].group_by = {GroupBy{"plan", kNoField}};
  MetricsSnapshot snapshot;
  snapshot.samples = {Sample("ns", "current", 1234567), Sample("ns", "previous", 1000000),
                      Sample("a", "current", 0.25, {{"plan", "<pro>"}}),
                      Sample("a", "previous", 0, {{"plan", "<pro>"}}),
                      Sample("guard", "current", 2)};
  snapshot.samples.back().window_start_ms = 0;  // as lifetime windows start
  snapshot.stream_time = EventTime(1704153600000);
  DaemonHealth health;
  health.consumer_lag = 12;
  health.rejected = 3;
  health.not_ready_reason = "not connected to <Kafka>";
  const std::string page = RenderStatusPage(metrics, snapshot, health, kNow);

  EXPECT_TRUE(
      absl::StrContains(page, R"(id="north-star-value" data-value="1234567">1,234,567</span>)"))
      << page;
  // (1234567 - 1000000) / 1000000 = +23.5 %
  EXPECT_TRUE(absl::StrContains(page, R"(<span class="change up">+23.5 %</span>)")) << page;
  EXPECT_TRUE(absl::StrContains(page, "What &lt;changed&gt; &amp; why?")) << page;
  // A group-by series: a row per label set; a previous 0 gives no change.
  EXPECT_TRUE(absl::StrContains(
      page, R"(<tr><th>plan=&lt;pro&gt;</th><td><span class="value" data-value="0.25")"))
      << page;
  EXPECT_EQ(page.find("change down"), std::string::npos);
  // The tree: ns, then a beneath it, b beneath a (listed by both, shown
  // once), then guardrails and the metric nothing lists.
  const size_t ns = page.find(R"(data-metric="ns")");
  const size_t a = page.find(R"(<ul class="tree"><li><div data-metric="a")");
  const size_t b = page.find(R"(<ul class="tree"><li><div data-metric="b" class="card focus")");
  const size_t guard = page.find(R"(<h2>Guardrails</h2><div data-metric="guard")");
  const size_t orphan = page.find(R"(<h2>Other metrics</h2><div data-metric="orphan")");
  ASSERT_NE(ns, std::string::npos) << page;
  ASSERT_NE(a, std::string::npos) << page;
  ASSERT_NE(b, std::string::npos) << page;
  ASSERT_NE(guard, std::string::npos) << page;
  ASSERT_NE(orphan, std::string::npos) << page;
  EXPECT_LT(ns, a);
  EXPECT_LT(a, b);
  EXPECT_LT(b, guard);
  EXPECT_LT(guard, orphan);
  EXPECT_EQ(page.find(R"(data-metric="b")", page.find(R"(data-metric="b")") + 1),
            std::string::npos);
  EXPECT_TRUE(absl::StrContains(page, R"(<div data-metric="orphan" class="card">)"
                                      R"(<span class="name">orphan</span>)"
                                      R"(<span class="role">input</span><br>)"
                                      R"(<span class="value">no data</span>)"))
      << page;

  EXPECT_TRUE(absl::StrContains(page, R"(<div data-metric="guard" class="card">)"
                                      R"(<span class="name">guard</span>)"
                                      R"(<span class="role">guardrail</span><br>)"
                                      R"(<span class="value" data-value="2">2</span></div>)"))
      << page;
  EXPECT_FALSE(absl::StrContains(page, "1970")) << page;

  EXPECT_TRUE(absl::StrContains(page, "no: not connected to &lt;Kafka&gt;")) << page;
  EXPECT_TRUE(absl::StrContains(page, R"(<td id="lag">12 messages</td>)")) << page;
  EXPECT_TRUE(absl::StrContains(page, R"(<td id="rejected">3</td>)")) << page;
  EXPECT_TRUE(
      absl::StrContains(page, R"(2024-01-02 00:00:00 UTC <span class="muted">(3d behind now))"))
      << page;
}

TEST(StatusPageTest, WithoutEventsOrLag) {
  const std::string page = RenderStatusPage({Metric("ns", MetricRole::kNorthStar)},
                                            MetricsSnapshot{}, DaemonHealth{}, kNow);
  EXPECT_TRUE(absl::StrContains(page, R"(<span class="value" id="north-star-value">no data)"))
      << page;
  EXPECT_TRUE(absl::StrContains(page, R"(<td id="stream-time">no event yet</td>)")) << page;
  EXPECT_TRUE(absl::StrContains(page, R"(<td id="lag">unknown</td>)")) << page;
}

}  // namespace
}  // namespace nsmd
