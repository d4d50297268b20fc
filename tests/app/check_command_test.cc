// `nsmd check` through the built binary: exit codes, the tree on stdout,
// every diagnostic on stderr.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"

namespace nsmd {
namespace {

TEST(CheckCommandTest, ValidConfigPrintsTheTree) {
  testing::CommandOutput o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/saas.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(o.out, "saas.yaml: 8 metrics, valid\n")) << o.out;
  EXPECT_TRUE(absl::StrContains(
      o.out, "collaborating_teams (north_star): entities context.groupId with distinct(userId) > "
             "3, cohort of context.groupId by week, 168h from the anchor\n"))
      << o.out;
  EXPECT_TRUE(absl::StrContains(o.out, "  └─ teams_created (input): ")) << o.out;
  EXPECT_EQ(o.err, "");
}

TEST(CheckCommandTest, BrokenConfigListsEveryErrorAndExits1) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-check");
  const std::string path = (dir / "broken.yaml").string();
  std::ofstream(path) << R"(time: {zone: Nowhere/City}
metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: fortnight}
)";
  testing::CommandOutput o = testing::RunNsmdCommand(absl::StrCat("check --config ", path));
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  // time: {zone: ...} -> value at column 14; "    window: {tumbling: " is 23
  // characters, so "fortnight" starts at column 24.
  EXPECT_EQ(o.err, absl::StrCat(path,
                                ":1:14: unknown time zone \"Nowhere/City\" (an IANA name such as "
                                "UTC or Europe/Berlin)\n",
                                path,
                                ":6:24: window.tumbling must be hour, day, week or month, not "
                                "\"fortnight\"\n"));
  std::filesystem::remove_all(dir);
}

TEST(CheckCommandTest, UsageError) {
  EXPECT_EQ(testing::RunNsmdCommand("check").exit_code, 2);
  EXPECT_EQ(testing::RunNsmdCommand("check --config x.yaml --bogus 1").exit_code, 2);
}

}  // namespace
}  // namespace nsmd
