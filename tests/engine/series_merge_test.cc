// Tests for SeriesMerge: the shares of several tasks added up into one set of
// series, with group-by caps applied again and ratios from summed operands.
#include "daemon/engine/series_merge.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace nsmd {
namespace {

MetricDefinition Metric(std::string name) {
  MetricDefinition m;
  m.name = std::move(name);
  return m;
}

MetricDefinition Ratio(std::string name, std::string numerator, std::string denominator) {
  MetricDefinition m = Metric(std::move(name));
  m.measure.kind = MeasureKind::kRatio;
  m.measure.numerator = std::move(numerator);
  m.measure.denominator = std::move(denominator);
  return m;
}

SeriesSample Sample(std::string metric, std::string window, double value, Labels labels = {}) {
  return SeriesSample{std::move(metric), std::move(labels), std::move(window), 1000, 2000, value};
}

TEST(SeriesMergeTest, SumsTheSameSeriesAndComputesRatiosFromTheSums) {
  const std::vector<MetricDefinition> metrics = {Metric("edits"), Metric("editors"),
                                                 Ratio("edits_per_editor", "edits", "editors")};
  SeriesMerge merge(&metrics);
  merge.Add({Sample("edits", "current", 2), Sample("editors", "current", 1),
             Sample("edits", "previous", 0), Sample("editors", "previous", 0)});
  merge.Add({Sample("edits", "current", 2), Sample("editors", "current", 2),
             Sample("edits", "previous", 3), Sample("editors", "previous", 1)});
  const std::vector<SeriesSample> out = merge.Finish();
  // Sums: edits 4 and 3, editors 3 and 1. The ratio of the sums is 4/3 (the
  // sum of the shares' ratios would be 2 + 1 = 3); previous 3/1.
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].metric, "edits");
  EXPECT_EQ(out[0].window, "current");
  EXPECT_EQ(out[0].value, 4);
  EXPECT_EQ(out[1].window, "previous");
  EXPECT_EQ(out[1].value, 3);
  EXPECT_EQ(out[2].metric, "editors");
  EXPECT_EQ(out[2].value, 3);
  EXPECT_EQ(out[3].value, 1);
  EXPECT_EQ(out[4].metric, "edits_per_editor");
  EXPECT_EQ(out[4].window, "current");
  EXPECT_DOUBLE_EQ(out[4].value, 4.0 / 3.0);
  EXPECT_EQ(out[5].window, "previous");
  EXPECT_DOUBLE_EQ(out[5].value, 3.0);
}

TEST(SeriesMergeTest, LabelsPastTheCapFoldIntoOtherWhateverTaskHeldThem) {
  MetricDefinition by_plan = Metric("users_by_plan");
  by_plan.group_by = {GroupBy{"plan", 0}};
  by_plan.max_series = 2;
  const std::vector<MetricDefinition> metrics = {by_plan};
  auto plan = [](const char* value) { return Labels{{"plan", value}}; };
  // Each task is under the cap alone; together they hold 3 plans and some
  // "__other__" already folded by the first task.
  const std::vector<SeriesSample> first = {
      Sample("users_by_plan", "current", 1, plan("team")),
      Sample("users_by_plan", "current", 2, plan("free")),
      Sample("users_by_plan", "current", 7, plan("__other__"))};
  const std::vector<SeriesSample> second = {
      Sample("users_by_plan", "current", 5, plan("enterprise")),
      Sample("users_by_plan", "current", 1, plan("team"))};
  for (bool swapped : {false, true}) {
    SeriesMerge merge(&metrics);
    merge.Add(swapped ? second : first);
    merge.Add(swapped ? first : second);
    const std::vector<SeriesSample> out = merge.Finish();
    // Plans in label order: enterprise, free, team. The first two keep their
    // series; team (1 + 1) joins __other__ (7): 9.
    ASSERT_EQ(out.size(), 3u) << swapped;
    EXPECT_EQ(out[0].labels, plan("__other__"));
    EXPECT_EQ(out[0].value, 9);
    EXPECT_EQ(out[1].labels, plan("enterprise"));
    EXPECT_EQ(out[1].value, 5);
    EXPECT_EQ(out[2].labels, plan("free"));
    EXPECT_EQ(out[2].value, 2);
  }
}

}  // namespace
}  // namespace nsmd
