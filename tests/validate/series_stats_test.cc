// The statistics of `nsmd validate` against values worked out by hand (the
// arithmetic is in the comments).
#include "daemon/validate/series_stats.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace nsmd {
namespace {

constexpr double kNa = std::numeric_limits<double>::quiet_NaN();

TEST(SeriesStatsTest, PearsonOfFourPairsByHand) {
  // Means 2.5 and 5; deviations -1.5,-0.5,0.5,1.5 and -3,-1,0,4:
  // Σdxdy = 4.5+0.5+0+6 = 11, Σdx² = 5, Σdy² = 26, r = 11/√130 = 0.964764.
  const Correlation c = Pearson({1, 2, 3, 4}, {2, 4, 5, 9});
  ASSERT_TRUE(c.r.has_value());
  EXPECT_NEAR(*c.r, 0.964764, 1e-6);
  EXPECT_EQ(c.pairs, 4);
}

TEST(SeriesStatsTest, NegativeCorrelationByHand) {
  // Means 2 and 2; dx = -1,0,1, dy = 1,-1,0: Σdxdy = -1, Σdx² = Σdy² = 2.
  const Correlation c = Pearson({1, 2, 3}, {3, 1, 2});
  ASSERT_TRUE(c.r.has_value());
  EXPECT_NEAR(*c.r, -0.5, 1e-12);
}

TEST(SeriesStatsTest, MissingValuesDropTheirPairs) {
  // Only (1,2),(2,4),(3,5),(4,9) remain: the first test's r.
  const Correlation c = Pearson({1, kNa, 2, 3, 7, 4}, {2, 100, 4, 5, kNa, 9});
  ASSERT_TRUE(c.r.has_value());
  EXPECT_NEAR(*c.r, 0.964764, 1e-6);
  EXPECT_EQ(c.pairs, 4);
}

TEST(SeriesStatsTest, ConstantSeriesHasNoCorrelation) {
  const Correlation c = Pearson({5, 5, 5, 5}, {1, 2, 3, 4});
  EXPECT_FALSE(c.r.has_value());
  EXPECT_EQ(c.pairs, 4);
}

TEST(SeriesStatsTest, OnePairHasNoCorrelation) {
  EXPECT_FALSE(Pearson({1}, {2}).r.has_value());
  EXPECT_FALSE(Pearson({}, {}).r.has_value());
}

TEST(SeriesStatsTest, LagKnownByConstruction) {
  // y[t] = 2 * x[t-2] + 10: x leads y by exactly 2 periods.
  const PeriodSeries x = {0, 5, 1, 4, 2, 8, 3, 7, 6, 1, 9, 2};
  PeriodSeries y = {3, 11};
  for (size_t t = 2; t < x.size(); ++t) y.push_back(2 * x[t - 2] + 10);
  const LeadResult lead = LeadTest(x, y, 4, 0.5, 5);
  ASSERT_EQ(lead.profile.size(), 5u);
  EXPECT_EQ(lead.best_lag, 2);
  ASSERT_TRUE(lead.best.r.has_value());
  EXPECT_NEAR(*lead.best.r, 1.0, 1e-12);
  EXPECT_EQ(lead.best.pairs, 10);  // t = 0..9 pair with y[2..11]
  EXPECT_EQ(lead.profile[4].pairs, 8);
  EXPECT_EQ(lead.verdict, LeadResult::Verdict::kLeads);
}

TEST(SeriesStatsTest, CoincidentSeriesMoveWithButDoNotLead) {
  const LeadResult lead = LeadTest({1, 2, 3, 4}, {2, 4, 5, 9}, 1, 0.5, 3);
  EXPECT_EQ(lead.best_lag, 0);
  EXPECT_EQ(lead.verdict, LeadResult::Verdict::kMovesWith);
}

TEST(SeriesStatsTest, BelowThresholdDoesNotLead) {
  // r = -0.5 at lag 0; lag 1 pairs (1,1),(2,2): r = 1 but only 2 pairs < 3.
  const LeadResult lead = LeadTest({1, 2, 3}, {3, 1, 2}, 1, 0.5, 3);
  EXPECT_EQ(lead.best_lag, 0);
  EXPECT_EQ(lead.verdict, LeadResult::Verdict::kDoesNotLead);
  EXPECT_EQ(lead.profile[1].pairs, 2);
}

TEST(SeriesStatsTest, TooFewPeriodsIsNotEnoughHistory) {
  const LeadResult lead = LeadTest({1, 2, 3, 4}, {2, 4, 5, 9}, 2, 0.5, 8);
  EXPECT_EQ(lead.verdict, LeadResult::Verdict::kNotEnoughHistory);
  EXPECT_EQ(lead.best_lag, -1);
}

TEST(SeriesStatsTest, ConstantMetricIsNotEnoughHistory) {
  const LeadResult lead = LeadTest({7, 7, 7, 7, 7}, {1, 2, 3, 4, 5}, 1, 0.5, 2);
  EXPECT_EQ(lead.verdict, LeadResult::Verdict::kNotEnoughHistory);
}

TEST(SeriesStatsTest, MovementByHand) {
  // Changes 1, 9, 0, -11 against 2% of 100, 101, 110, 110 (2, 2.02, 2.2,
  // 2.2): 9 and -11 exceed it. Mean 104, squared deviations 16+9+36+36+25 =
  // 122, σ = √(122/5) = 4.939636, CV = 0.047496.
  const Movement m = MeasureMovement({100, 101, 110, 110, 99}, 0.02);
  EXPECT_EQ(m.changes, 4);
  EXPECT_EQ(m.moved, 2);
  ASSERT_TRUE(m.share_moved.has_value());
  EXPECT_DOUBLE_EQ(*m.share_moved, 0.5);
  ASSERT_TRUE(m.coefficient_of_variation.has_value());
  EXPECT_NEAR(*m.coefficient_of_variation, 0.047496, 1e-6);
}

TEST(SeriesStatsTest, MovementOfAConstantAndOfZeros) {
  const Movement constant = MeasureMovement({3, 3, 3}, 0.02);
  EXPECT_EQ(constant.moved, 0);
  EXPECT_DOUBLE_EQ(*constant.coefficient_of_variation, 0);
  const Movement zeros = MeasureMovement({0, 0, 1}, 0.02);
  EXPECT_EQ(zeros.moved, 1);  // from 0, any change counts
  EXPECT_FALSE(MeasureMovement({0, 0}, 0.02).coefficient_of_variation.has_value());
  EXPECT_FALSE(MeasureMovement({}, 0.02).share_moved.has_value());
}

TEST(SeriesStatsTest, DriverChangesByHand) {
  // Δinput = 1,2,3; Δnsm = 3,1,2,4. Same period: (1,3),(2,1),(3,2): r = -0.5
  // (as above). Next period: (1,1),(2,2),(3,4): means 2 and 7/3, Σdxdy = 3,
  // Σdx² = 2, Σdy² = 42/9, r = 3/√(84/9) = 0.981981.
  const DriverResult d = DriverTest({0, 1, 3, 6}, {0, 3, 4, 6, 10});
  ASSERT_TRUE(d.same_period.r.has_value());
  EXPECT_NEAR(*d.same_period.r, -0.5, 1e-12);
  ASSERT_TRUE(d.next_period.r.has_value());
  EXPECT_NEAR(*d.next_period.r, 0.981981, 1e-6);
  EXPECT_EQ(d.next_period.pairs, 3);
}

}  // namespace
}  // namespace nsmd
