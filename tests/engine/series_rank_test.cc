// Tests for SeriesRank: the hash a group-by label set is kept by under
// max_series, the same everywhere. Expected values are XXH3-64 of the
// joined values shifted right by 11, worked out with libxxhash apart.
#include "daemon/engine/series_rank.h"

#include "gtest/gtest.h"

namespace nsmd {
namespace {

TEST(SeriesRankTest, IsTheTop53BitsOfTheHashOfTheJoinedValues) {
  EXPECT_EQ(SeriesRank({{"plan", "free"}}), 2215450186957496u);
  EXPECT_EQ(SeriesRank({{"plan", "team"}}), 7660891049256118u);
  // Values joined by '\x1f' (as the group key): names play no part.
  EXPECT_EQ(SeriesRank({{"plan", "free"}, {"region", "us"}}), 6148065198353893u);
  EXPECT_EQ(SeriesRank({{"tier", "free"}, {"zone", "us"}}), 6148065198353893u);
  // Exact as a double (a Prometheus sample).
  const uint64_t r = SeriesRank({{"plan", "enterprise"}});
  EXPECT_LT(r, uint64_t{1} << 53);
  EXPECT_EQ(static_cast<uint64_t>(static_cast<double>(r)), r);
}

TEST(SeriesRankTest, OtherIsEveryLabelFoldedAndNoLabelsIsNotOther) {
  EXPECT_TRUE(IsOtherSeries({{"plan", "__other__"}}));
  EXPECT_TRUE(IsOtherSeries({{"plan", "__other__"}, {"region", "__other__"}}));
  EXPECT_FALSE(IsOtherSeries({{"plan", "__other__"}, {"region", "us"}}));
  EXPECT_FALSE(IsOtherSeries({{"plan", "__other___"}}));  // an escaped real value
  EXPECT_FALSE(IsOtherSeries({}));
}

}  // namespace
}  // namespace nsmd
