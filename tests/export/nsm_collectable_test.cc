#include "daemon/export/nsm_collectable.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace nsmd {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

SeriesSample Sample(std::string metric, Labels labels, std::string window, int64_t start_ms,
                    double value) {
  SeriesSample s;
  s.metric = std::move(metric);
  s.labels = std::move(labels);
  s.window = std::move(window);
  s.window_start_ms = start_ms;
  s.value = value;
  return s;
}

class NsmCollectableTest : public ::testing::Test {
 protected:
  std::string Scrape() {
    NsmCollectable collectable(publisher_);
    return prometheus::TextSerializer().Serialize(collectable.Collect());
  }

  std::shared_ptr<SnapshotPublisher> publisher_ = std::make_shared<SnapshotPublisher>();
};

TEST_F(NsmCollectableTest, NothingPublishedGivesNoFamilies) {
  NsmCollectable collectable(publisher_);
  EXPECT_THAT(collectable.Collect(), IsEmpty());
}

TEST_F(NsmCollectableTest, ValuesAndWindowStartsPerSeries) {
  auto snapshot = std::make_shared<MetricsSnapshot>();
  // 1704067200000 ms = 2024-01-01T00:00:00Z (Monday), 1703462400000 ms = one
  // week earlier (1704067200 - 7 * 86400 = 1703462400).
  snapshot->samples.push_back(Sample("wau", {}, "current", 1704067200000, 7));
  snapshot->samples.push_back(Sample("wau", {}, "previous", 1703462400000, 5));
  // A half-second start shows the ms -> s division: 1704067200500 / 1000.
  snapshot->samples.push_back(Sample("signups", {{"plan", "pro"}}, "current", 1704067200500, 2.5));
  publisher_->Publish(nullptr, snapshot);

  EXPECT_THAT(
      Lines(Scrape()),
      ElementsAre(
          "# HELP nsm_metric_value Value of an NSM metric over its current or "
          "previous window, per group-by series.",
          "# TYPE nsm_metric_value gauge", R"(nsm_metric_value{metric="wau",window="current"} 7)",
          R"(nsm_metric_value{metric="wau",window="previous"} 5)",
          R"(nsm_metric_value{metric="signups",window="current",plan="pro"} 2.5)",
          "# HELP nsm_metric_window_start_seconds Start of the window that the "
          "nsm_metric_value series with the same labels covers, in Unix seconds.",
          "# TYPE nsm_metric_window_start_seconds gauge",
          R"(nsm_metric_window_start_seconds{metric="wau",window="current"} 1704067200)",
          R"(nsm_metric_window_start_seconds{metric="wau",window="previous"} 1703462400)",
          R"(nsm_metric_window_start_seconds{metric="signups",window="current",plan="pro"} 1704067200.5)"));
}

TEST_F(NsmCollectableTest, CollidingGroupLabelsArePrefixed) {
  auto snapshot = std::make_shared<MetricsSnapshot>();
  // "metric" and "window" collide with ours -> label_metric, label_window;
  // the second "label_window" then collides with the renamed first one ->
  // label_label_window.
  snapshot->samples.push_back(
      Sample("m", {{"window", "a"}, {"metric", "b"}, {"label_window", "c"}}, "current", 0, 1));
  publisher_->Publish(nullptr, snapshot);
  EXPECT_THAT(
      Lines(Scrape()),
      Contains(
          R"(nsm_metric_value{metric="m",window="current",label_window="a",label_metric="b",label_label_window="c"} 1)"));
}

TEST_F(NsmCollectableTest, InfoCarriesEveryMetadataLabel) {
  auto defs = std::make_shared<std::vector<MetricDefinition>>(2);
  MetricDefinition& wau = (*defs)[0];
  wau.name = "wau";
  wau.metadata.role = MetricRole::kNorthStar;
  wau.metadata.inputs = {"signups", "activation"};
  wau.metadata.description = "Weekly \"active\" users\nwith a newline";
  wau.metadata.customer_value = "Teams get value";
  wau.metadata.decision_question = "Where to invest?";
  wau.metadata.cadence = "weekly";
  wau.metadata.owner = "growth";
  wau.metadata.unit = "users";
  (*defs)[1].name = "signups";  // all metadata left empty; role defaults to input
  publisher_->Publish(defs, nullptr);

  // Label values escape " as \" and newline as \n (text format 0.0.4); the
  // inputs list is joined with ",".
  EXPECT_THAT(
      Lines(Scrape()),
      ElementsAre(
          "# HELP nsm_metric_info Metadata of each configured NSM metric: its role in the North "
          "Star tree, the metrics that drive it, owner and purpose. Always 1.",
          "# TYPE nsm_metric_info gauge",
          R"(nsm_metric_info{metric="wau",role="north_star",description="Weekly \"active\" users\nwith a newline",customer_value="Teams get value",decision_question="Where to invest?",cadence="weekly",owner="growth",unit="users",inputs="signups,activation"} 1)",
          R"(nsm_metric_info{metric="signups",role="input",description="",customer_value="",decision_question="",cadence="",owner="",unit="",inputs=""} 1)"));
}

TEST_F(NsmCollectableTest, ReadsTheLatestSnapshotAtEachScrape) {
  NsmCollectable collectable(publisher_);
  auto first = std::make_shared<MetricsSnapshot>();
  first->samples.push_back(Sample("wau", {}, "current", 0, 1));
  publisher_->Publish(nullptr, first);
  EXPECT_THAT(Lines(prometheus::TextSerializer().Serialize(collectable.Collect())),
              Contains(R"(nsm_metric_value{metric="wau",window="current"} 1)"));

  auto second = std::make_shared<MetricsSnapshot>();
  second->samples.push_back(Sample("wau", {}, "current", 0, 2));
  publisher_->Publish(nullptr, second);
  const auto lines = Lines(prometheus::TextSerializer().Serialize(collectable.Collect()));
  EXPECT_THAT(lines, Contains(R"(nsm_metric_value{metric="wau",window="current"} 2)"));
  EXPECT_THAT(lines, Not(Contains(R"(nsm_metric_value{metric="wau",window="current"} 1)")));
}

TEST_F(NsmCollectableTest, EachGroupByLabelSetHasItsRankOnce) {
  auto defs = std::make_shared<std::vector<MetricDefinition>>(3);
  (*defs)[0].name = "by_plan";
  (*defs)[0].group_by = {GroupBy{"plan", 0}};
  (*defs)[1].name = "rate_by_plan";  // a ratio: folded through its operands
  (*defs)[1].group_by = {GroupBy{"plan", 0}};
  (*defs)[1].measure.kind = MeasureKind::kRatio;
  (*defs)[2].name = "wau";
  auto snapshot = std::make_shared<MetricsSnapshot>();
  for (const char* window : {"current", "previous"}) {
    snapshot->samples.push_back(Sample("by_plan", {{"plan", "free"}}, window, 0, 3));
    snapshot->samples.push_back(Sample("by_plan", {{"plan", "team"}}, window, 0, 2));
    snapshot->samples.push_back(Sample("by_plan", {{"plan", "__other__"}}, window, 0, 9));
    snapshot->samples.push_back(Sample("rate_by_plan", {{"plan", "free"}}, window, 0, 0.5));
    snapshot->samples.push_back(Sample("wau", {}, window, 0, 7));
  }
  publisher_->Publish(defs, snapshot);
  // XXH3-64 of "free" and "team" >> 11, worked out with libxxhash apart.
  std::vector<std::string> ranks;
  for (const std::string& line : Lines(Scrape())) {
    if (absl::StartsWith(line, "nsm_metric_series_rank")) ranks.push_back(line);
  }
  EXPECT_THAT(
      ranks,
      ElementsAre(R"(nsm_metric_series_rank{metric="by_plan",plan="free"} 2215450186957496)",
                  R"(nsm_metric_series_rank{metric="by_plan",plan="team"} 7660891049256118)"));
}

}  // namespace
}  // namespace nsmd
