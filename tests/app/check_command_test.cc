// `nsmd check` through the built binary: exit codes, the tree on stdout,
// every diagnostic on stderr.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
      o.out,
      "collaborating_teams (north_star): entities context.groupId with distinct(userId) > "
      "3, cohort of context.groupId by week, 168h from the anchor\n"))
      << o.out;
  EXPECT_TRUE(absl::StrContains(o.out, "  └─ teams_created (input): ")) << o.out;
  EXPECT_EQ(o.err, "");
}

// The saas example's alert: blocks, with the for: its weekly cadence gives
// (6h) where the block sets none.
TEST(CheckCommandTest, ValidConfigPrintsItsAlerts) {
  testing::CommandOutput o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/saas.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(
      o.out,
      "\nalerts (nsmd rules):\n  collaborating_teams: drop > 20% vs the same point of the "
      "previous window, no change for 2 windows, for 6h (from the cadence), severity "
      "critical\n  team_activation_rate: below 0.2, for 6h (from the cadence), severity "
      "warning\n"))
      << o.out;
  EXPECT_TRUE(absl::StrContains(o.out,
                                "  daily_reading_ms: drop > 40% vs the same point of the "
                                "previous window, for 2h, severity warning\n"))
      << o.out;
}

// The saas example is keyed by user, but three of its metrics count teams:
// their events go through a repartition topic keyed by team (kafka.rekey
// auto, the key field set), so every task is one partition's. Every metric
// of the ecommerce example counts customers, its key. The services example
// counts claims besides its key, users.
TEST(CheckCommandTest, ValidConfigSaysHowItsStateSplitsIntoTasks) {
  testing::CommandOutput o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/saas.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  const std::string rekeyed =
      "instances in one consumer group split the partitions and their numbers add up. Re-keyed "
      "through repartition topics (kafka.rekey: false keeps one whole-input task instead, for a "
      "single instance):\n";
  EXPECT_TRUE(absl::StrContains(
      o.out,
      absl::StrCat("\ntasks: one per partition, re-keyed (kafka.key_field: userId): ", rekeyed,
                   "  nsmd-saas-rekey-context.groupId: collaborating_teams teams_created "
                   "project_builders\n")))
      << o.out;
  o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/ecommerce.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(o.out,
                                "\ntasks: one per partition (kafka.key_field: userId): instances "
                                "in one consumer group split the partitions and their numbers "
                                "add up\n"))
      << o.out;
  o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/services.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(
      o.out,
      absl::StrCat("\ntasks: one per partition, re-keyed (kafka.key_field: user_id): ", rekeyed,
                   "  nsmd-services-rekey-event_properties.claim_id: claims_resolved_72h "
                   "claims_opened\n")))
      << o.out;
}

// With kafka.rekey: false the team metrics keep one task for the whole
// input, and check says which metrics do.
TEST(CheckCommandTest, WithoutRekeyingTheWholeInputIsOneTask) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-check-rekey");
  std::string yaml =
      testing::ReadFile(std::filesystem::path(NSMD_SOURCE_DIR) / "config/examples/saas.yaml");
  const size_t at = yaml.find("  key_field: userId");
  ASSERT_NE(at, std::string::npos);
  yaml.insert(at, "  rekey: false\n");
  std::ofstream(dir / "saas.yaml") << yaml;
  testing::CommandOutput o =
      testing::RunNsmdCommand(absl::StrCat("check --config ", (dir / "saas.yaml").string()));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(
      o.out,
      "\ntasks: one for the whole input (kafka.key_field: userId): run a single instance per "
      "consumer group. Needing their events keyed by another field (re-keying, which "
      "kafka.rekey: true turns on):\n"
      "  collaborating_teams: cohort entity context.groupId is not the messages' key (userId)\n"
      "  teams_created: cohort entity context.groupId is not the messages' key (userId)\n"
      "  project_builders: entity context.groupId is not the messages' key (userId)\n"))
      << o.out;
  std::filesystem::remove_all(dir);
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

// One broken file per kind of error, in tests/app/testdata/. Each expected
// line is FILE:LINE:COL with LINE:COL counted by hand in that file (1-based,
// at the offending key or value; the arithmetic is in the comments).
struct BrokenFile {
  const char* file;
  std::vector<std::string> lines;  // messages after "FILE:"
};

std::string Testdata(const std::string& file) {
  return absl::StrCat(NSMD_SOURCE_DIR, "/tests/app/testdata/", file);
}

TEST(CheckCommandTest, EachBrokenFileGivesItsLocatedMessagesAndExits1) {
  const std::vector<BrokenFile> cases = {
      // "    descripton" at line 4: the key is at column 5.
      {"check_unknown_key.yaml",
       {"4:5: unknown key \"descripton\" in metric; did you mean \"description\"?"}},
      // "    max_series: " is 16 characters: "lots" at column 17.
      {"check_wrong_type.yaml", {"6:17: expected an integer for max_series"}},
      // "    inputs: [" is 13 characters: "signups" at column 14.
      {"check_unknown_metric.yaml", {"4:14: input \"signups\" is not a metric of this config"}},
      // "    measure: " is 13 characters: x's measure at 7:14.
      {"check_ratio_cycle.yaml", {"7:14: ratio cycle: x -> y -> x"}},
      // The metrics list starts at "  - " of line 2: column 3.
      {"check_no_north_star.yaml",
       {"2:3: no metric has role north_star: exactly one must (the metric that measures the "
        "value customers get)"}},
      // "    role: " is 10 characters: dau's role value at 7:11.
      {"check_two_north_stars.yaml",
       {"7:11: a second north_star (\"dau\"; the first is \"wau\"): exactly one metric is the "
        "north star; make this one a focus or input"}},
      // "    window: {rolling: " is 22 characters: "week" at column 23.
      {"check_bad_duration.yaml",
       {"5:23: bad duration \"week\": expected a number and a unit, e.g. 90s, 72h, 7d"}},
      // "  zone: " is 8 characters: the zone at 2:9.
      {"check_unknown_time_zone.yaml",
       {"2:9: unknown time zone \"Europe/Atlantis\" (an IANA name such as UTC or "
        "Europe/Berlin)"}},
      // The cohort mapping starts with "        entity" on line 8: column 9.
      {"check_cohort_without_anchor.yaml",
       {"8:9: a cohort window needs \"anchor\" (the event that opens an entity's window, e.g. "
        "{event: team_created})"}},
      // "    window: {" is 13 characters: "rollin" at 8:14; the error after it
      // (line 12, "    ownr" at column 5) is still reported.
      {"check_unknown_window_kind.yaml",
       {"8:14: unknown window kind \"rollin\" (did you mean \"rolling\"?)",
        "12:5: unknown key \"ownr\" in metric; did you mean \"owner\"?"}},
      // The second "    measure" (line 6) is reported; the first is at 4:5.
      {"check_duplicate_key.yaml", {"6:5: duplicate key \"measure\" (first at line 4, column 5)"}},
  };
  for (const BrokenFile& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = Testdata(c.file);
    testing::CommandOutput o = testing::RunNsmdCommand(absl::StrCat("check --config ", path));
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_EQ(o.out, "");
    std::string expected;
    for (const std::string& line : c.lines) absl::StrAppend(&expected, path, ":", line, "\n");
    EXPECT_EQ(o.err, expected);
  }
}

TEST(CheckCommandTest, BadRegexIsLocatedAtThePattern) {
  // "    filter: {" (13) + "event: page_viewed, " (20) + "where: {" (8) +
  // "field: properties.path, " (24) + "matches: " (9) = 74 characters: the
  // quoted pattern starts at column 75. RE2's own explanation follows.
  const std::string path = Testdata("check_bad_regex.yaml");
  testing::CommandOutput o = testing::RunNsmdCommand(absl::StrCat("check --config ", path));
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_TRUE(
      absl::StartsWith(o.err, absl::StrCat(path, ":4:75: bad regular expression \"[docs\": ")))
      << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
}

TEST(CheckCommandTest, GroupByWithoutCapIsAWarningAndTheFileIsValid) {
  // "    group_by: " is 14 characters: the mapping at 6:15.
  const std::string path = Testdata("check_group_by_without_cap.yaml");
  testing::CommandOutput o = testing::RunNsmdCommand(absl::StrCat("check --config ", path));
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.err, absl::StrCat(path,
                                ":6:15: warning: high-cardinality risk: group_by without "
                                "max_series in metric \"wau_by_plan\" (capped at the default "
                                "of 1000 series; the rest fold into __other__)\n"));
  EXPECT_TRUE(absl::StartsWith(o.out, absl::StrCat(path, ": 1 metrics, valid\n"))) << o.out;
}

TEST(CheckCommandTest, HelpListsTheFlagsOfRunReplayAndValidate) {
  testing::CommandOutput o = testing::RunNsmdCommand("--help");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(o.out, "[--enable-reload-endpoint]")) << o.out;
  EXPECT_TRUE(absl::StrContains(
      o.out,
      "replay  --config FILE --input FILE.ndjson[.gz]|- [--series json] [--state-dir DIR]\n"))
      << o.out;
  EXPECT_TRUE(absl::StrContains(
      o.out,
      "validate --config FILE --input FILE.ndjson[.gz]|- [--report FILE.html] [--json FILE]\n"))
      << o.out;
}

// The tree names the new roles: candidates and the validation metric are
// no inputs of the north star, so they come under "other metrics".
TEST(CheckCommandTest, TreeShowsCandidateAndValidationRoles) {
  testing::CommandOutput o = testing::RunNsmdCommand(
      absl::StrCat("check --config ", NSMD_SOURCE_DIR, "/config/examples/validation.yaml"));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(
      absl::StrContains(o.out,
                        "other metrics:\n"
                        "  └─ weekly_active_users (candidate): distinct userId, tumbling "
                        "week\n"
                        "  └─ documents_shared (candidate): events, tumbling week\n"
                        "  └─ revenue (validation): sum properties.amount, tumbling week\n"))
      << o.out;
}

TEST(CheckCommandTest, UsageError) {
  EXPECT_EQ(testing::RunNsmdCommand("check").exit_code, 2);
  EXPECT_EQ(testing::RunNsmdCommand("check --config x.yaml --bogus 1").exit_code, 2);
}

}  // namespace
}  // namespace nsmd
