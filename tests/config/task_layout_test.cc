// TaskLayoutOf: the one decision of how a config's state splits into tasks.
#include "daemon/config/task_layout.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/config/config_loader.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// Users, and teams of users: keyed by userId, the team metric needs
// re-keying by context.groupId.
constexpr char kMetrics[] = R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: week}
  - name: teams
    role: input
    measure: {entities: context.groupId, having: "distinct(userId) >= 3"}
    window: {tumbling: week}
)";

TaskLayout LayoutOf(const std::string& kafka, const std::string& more = "",
                    const std::string& metrics = kMetrics) {
  ConfigLoadResult r = ParseConfig(absl::StrCat("kafka:\n", kafka, more, metrics), "t.yaml");
  EXPECT_TRUE(r.config.has_value());
  return r.config ? TaskLayoutOf(*r.config) : TaskLayout::kWholeInput;
}

TEST(TaskLayoutTest, AutoRekeysWhenTheKeyIsKnownInAGroupWithAChangelog) {
  EXPECT_EQ(LayoutOf("  key_field: userId\n"), TaskLayout::kRekeyed);
  EXPECT_EQ(LayoutOf("  key_field: userId\n  rekey: auto\n"), TaskLayout::kRekeyed);
  // No key field: the producers' key is unknown.
  EXPECT_EQ(LayoutOf("  group_id: g\n"), TaskLayout::kWholeInput);
  // One instance reads everything: nothing to split.
  EXPECT_EQ(LayoutOf("  key_field: userId\n  assignment: all\n"), TaskLayout::kWholeInput);
  // Re-keyed records travel in the changelog's transactions.
  EXPECT_EQ(LayoutOf("  key_field: userId\n", "state:\n  changelog: off\n"),
            TaskLayout::kWholeInput);
}

TEST(TaskLayoutTest, TrueInsistsAndFalseKeepsOneWholeInputTask) {
  EXPECT_EQ(LayoutOf("  rekey: true\n"), TaskLayout::kRekeyed);
  EXPECT_EQ(LayoutOf("  key_field: userId\n  rekey: false\n"), TaskLayout::kWholeInput);
}

TEST(TaskLayoutTest, WhatTheKeyPartitionsIsPerPartitionWhateverRekeySays) {
  const std::string users = R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: week}
)";
  EXPECT_EQ(LayoutOf("  key_field: userId\n", "", users), TaskLayout::kPerPartition);
  EXPECT_EQ(LayoutOf("  key_field: userId\n  rekey: false\n", "", users),
            TaskLayout::kPerPartition);
}

// A cohort of teams counting distinct users: no one field partitions it.
TEST(TaskLayoutTest, AutoKeepsTheWholeInputWhenNoFieldCanRekey) {
  const std::string cohort = R"(metrics:
  - name: collaborating
    role: north_star
    filter: {event: edited}
    measure: {distinct: userId}
    window:
      cohort: {anchor: {event: team_created}, entity: context.groupId, length: 7d, period: week}
)";
  EXPECT_EQ(LayoutOf("  key_field: userId\n", "", cohort), TaskLayout::kWholeInput);
}

TEST(TaskLayoutTest, NamesAreTheStateDirsTasksSetting) {
  EXPECT_STREQ(TaskLayoutName(TaskLayout::kPerPartition), "per_partition");
  EXPECT_STREQ(TaskLayoutName(TaskLayout::kRekeyed), "rekeyed");
  EXPECT_STREQ(TaskLayoutName(TaskLayout::kWholeInput), "whole_input");
}

}  // namespace
}  // namespace nsmd
