// Tests for KeyPartitioning: which metrics one task per partition computes.
#include "daemon/engine/key_partitioning.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

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

TEST_F(KeyPartitioningTest, PartitionFieldIsTheCountedEntityOrTheCohorts) {
  auto field = [this](const MetricDefinition& m) {
    absl::StatusOr<FieldId> f = PartitionField(m, catalog_);
    EXPECT_OK(f);
    return f.value_or(-2);
  };
  EXPECT_EQ(field(Metric(MeasureKind::kSum)), kNoField);
  EXPECT_EQ(field(Metric(MeasureKind::kDistinct, user_)), user_);
  EXPECT_EQ(field(Cohort(Metric(MeasureKind::kEvents), team_)), team_);
  EXPECT_EQ(field(Cohort(Metric(MeasureKind::kEntities, team_), team_)), team_);
  // A cohort of teams counting distinct users: neither field alone.
  const absl::Status both =
      PartitionField(Cohort(Metric(MeasureKind::kDistinct, user_), team_), catalog_).status();
  EXPECT_EQ(both.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(both.message(),
            "its cohort entity context.groupId and the distinct field userId differ: no one field "
            "partitions both");
}

TEST_F(KeyPartitioningTest, RekeyFieldsAreTheNonKeyFieldsOnceInOrder) {
  const FieldId claim = catalog_.Intern("claim_id");
  const std::vector<MetricDefinition> metrics = {
      Metric(MeasureKind::kDistinct, user_), Cohort(Metric(MeasureKind::kEvents), team_),
      Metric(MeasureKind::kEntities, claim), Metric(MeasureKind::kEntities, team_),
      Metric(MeasureKind::kSum)};
  absl::StatusOr<std::vector<FieldId>> keyed = RekeyFields(metrics, catalog_, "userId");
  ASSERT_OK(keyed);
  EXPECT_EQ(*keyed, (std::vector<FieldId>{team_, claim}));
  absl::StatusOr<std::vector<FieldId>> unkeyed = RekeyFields(metrics, catalog_, "");
  ASSERT_OK(unkeyed);
  EXPECT_EQ(*unkeyed, (std::vector<FieldId>{user_, team_, claim}));
  absl::StatusOr<std::vector<FieldId>> none =
      RekeyFields({Metric(MeasureKind::kSum)}, catalog_, "");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  MetricDefinition both = Cohort(Metric(MeasureKind::kDistinct, user_), team_);
  both.name = "both";
  const absl::Status s = RekeyFields({both}, catalog_, "userId").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message().substr(0, 46), "metric both cannot be re-keyed: its cohort ent");
}

}  // namespace
}  // namespace nsmd
