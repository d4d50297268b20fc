// Tests for SeriesMerge: the shares of several tasks added up into one set of
// series, with group-by caps applied again and ratios from summed operands.
#include "daemon/engine/series_merge.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/engine/series_rank.h"
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
    // Plans by rank (SeriesRank, XXH3 worked out apart): free
    // 2215450186957496, enterprise 4977222896827729, team 7660891049256118.
    // The first two keep their series; team (1 + 1) joins __other__ (7): 9.
    ASSERT_EQ(out.size(), 3u) << swapped;
    EXPECT_EQ(out[0].labels, plan("__other__"));
    EXPECT_EQ(out[0].value, 9);
    EXPECT_EQ(out[1].labels, plan("enterprise"));
    EXPECT_EQ(out[1].value, 5);
    EXPECT_EQ(out[2].labels, plan("free"));
    EXPECT_EQ(out[2].value, 2);
  }
}

TEST(SeriesMergeTest, InstancesThatSplitTheTasksFoldAsOneInstanceHoldingThemAll) {
  MetricDefinition by_plan = Metric("users_by_plan");
  by_plan.group_by = {GroupBy{"plan", 0}};
  by_plan.max_series = 2;
  const std::vector<MetricDefinition> metrics = {by_plan};
  auto plan = [](const char* value) { return Labels{{"plan", value}}; };
  auto sample = [&](const char* p, double v) {
    return Sample("users_by_plan", "current", v, plan(p));
  };
  // Ranks (XXH3 worked out apart): d 2461807853254900, b 3073415842405136,
  // c 4934626225739583, a 8119645718696649. Label order would keep a and b.
  const std::vector<std::vector<SeriesSample>> tasks = {{sample("a", 5), sample("c", 1)},
                                                        {sample("c", 2), sample("__other__", 4)},
                                                        {sample("b", 3), sample("d", 6)},
                                                        {sample("a", 1), sample("b", 2)}};
  // One instance holding every task keeps d (6) and b (3 + 2): a (5 + 1),
  // c (1 + 2) and the task's 4 fold into __other__: 13.
  SeriesMerge all(&metrics);
  for (const std::vector<SeriesSample>& t : tasks) all.Add(t);
  const std::vector<SeriesSample> one = all.Finish();
  std::map<std::string, double> expected = {{"__other__", 13}, {"b", 5}, {"d", 6}};
  std::map<std::string, double> got;
  for (const SeriesSample& s : one) got[s.labels[0].second] = s.value;
  EXPECT_EQ(got, expected);
  // Instance x holds the first two tasks (a 5, c 3 and __other__ 4: within
  // the cap), y the other two (b 5, d 6, a 1: a folds into __other__). Their sum,
  // folded again as the recording rules do (the 2 lowest ranks among the
  // label sets the instances show stay), gives the same.
  SeriesMerge x(&metrics);
  x.Add(tasks[0]);
  x.Add(tasks[1]);
  SeriesMerge y(&metrics);
  y.Add(tasks[2]);
  y.Add(tasks[3]);
  std::map<std::string, double> sum;
  std::set<std::pair<uint64_t, std::string>> ranked;
  for (SeriesMerge* instance : {&x, &y}) {
    for (const SeriesSample& s : instance->Finish()) {
      const std::string& p = s.labels[0].second;
      sum[p] += s.value;
      if (p != "__other__") ranked.emplace(SeriesRank(s.labels), p);
    }
  }
  EXPECT_EQ(sum.size(), 5u);  // a, b, c, d and __other__ before the fold
  std::map<std::string, double> rules;
  auto rank = ranked.begin();
  for (size_t kept = 0; kept < 2; ++kept, ++rank) rules[rank->second] = sum[rank->second];
  for (const auto& [p, v] : sum) {
    if (!rules.contains(p)) rules["__other__"] += v;
  }
  EXPECT_EQ(rules, expected);
}

}  // namespace
}  // namespace nsmd
