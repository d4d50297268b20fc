// Tests for KeyPartitioning: which metrics one task per partition computes.
#include "daemon/engine/key_partitioning.h"

#include <string>

#include "gtest/gtest.h"

namespace nsmd {
namespace {

class KeyPartitioningTest : public ::testing::Test {
 protected:
  MetricDefinition Metric(MeasureKind kind, FieldId field = kNoField) {
    MetricDefinition m;
    m.name = "m";
    m.measure.kind = kind;
    m.measure.field = kind == MeasureKind::kDistinct ? field : kNoField;
    m.measure.entity = kind == MeasureKind::kEntities ? field : kNoField;
    return m;
  }
  MetricDefinition Cohort(MetricDefinition m, FieldId entity) {
    m.window.kind = WindowKind::kCohort;
    m.window.cohort_entity = entity;
    return m;
  }

  FieldCatalog catalog_;
  const FieldId user_ = catalog_.Intern("userId");
  const FieldId team_ = catalog_.Intern("context.groupId");
};

TEST_F(KeyPartitioningTest, EventsAndSumsAddUpUnderAnyKey) {
  EXPECT_EQ(KeyPartitioningGap(Metric(MeasureKind::kEvents), catalog_, ""), std::nullopt);
  EXPECT_EQ(KeyPartitioningGap(Metric(MeasureKind::kSum), catalog_, "userId"), std::nullopt);
}

TEST_F(KeyPartitioningTest, DistinctAndEntitiesNeedTheirFieldAsTheKey) {
  EXPECT_EQ(KeyPartitioningGap(Metric(MeasureKind::kDistinct, user_), catalog_, "userId"),
            std::nullopt);
  EXPECT_EQ(KeyPartitioningGap(Metric(MeasureKind::kEntities, team_), catalog_, "userId"),
            "entity context.groupId is not the messages' key (userId)");
  EXPECT_EQ(KeyPartitioningGap(Metric(MeasureKind::kDistinct, user_), catalog_, ""),
            "distinct userId must be the messages' key (kafka.key_field is not set)");
}

TEST_F(KeyPartitioningTest, ACohortNeedsItsEntityAsTheKey) {
  EXPECT_EQ(KeyPartitioningGap(Cohort(Metric(MeasureKind::kEvents), team_), catalog_, "userId"),
            "cohort entity context.groupId is not the messages' key (userId)");
  EXPECT_EQ(KeyPartitioningGap(Cohort(Metric(MeasureKind::kEntities, team_), team_), catalog_,
                               "context.groupId"),
            std::nullopt);
}

TEST_F(KeyPartitioningTest, OneMetricThatNeedsRekeyingMakesTheConfigWholeInput) {
  EXPECT_TRUE(PartitionedByKey({Metric(MeasureKind::kDistinct, user_), Metric(MeasureKind::kSum)},
                               catalog_, "userId"));
  EXPECT_FALSE(PartitionedByKey(
      {Metric(MeasureKind::kDistinct, user_), Metric(MeasureKind::kEntities, team_)}, catalog_,
      "userId"));
}

}  // namespace
}  // namespace nsmd
