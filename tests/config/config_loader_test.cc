// The config language: each broken file gives its exact FILE:LINE:COL
// message (columns counted by hand: 1-based, at the offending key or value),
// every error is reported, and good files give the definitions the engine
// expects.
#include "daemon/config/config_loader.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/config/metric_tree.h"
#include "daemon/decode/event_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/config/config_messages.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using ::testing::ElementsAre;

TEST(ConfigLoaderTest, UnknownKeySuggestsTheClosestOne) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    windw: {tumbling: week}
)"),
              ElementsAre("t.yaml:2:5: metric \"wau\" needs a \"window\"",
                          "t.yaml:5:5: unknown key \"windw\" in metric; did you mean \"window\"?"));
}

TEST(ConfigLoaderTest, WrongType) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: north_star
    filter: [file_edited]
    measure: {distinct: userId}
    window: {tumbling: week}
)"),
              ElementsAre("t.yaml:4:13: expected a mapping for filter"));
}

TEST(ConfigLoaderTest, RatioOfAnUnknownMetric) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(  - name: rate
    measure: {ratio: {numerator: wau, denominator: nope}}
)")),
              ElementsAre("t.yaml:7:52: ratio denominator \"nope\" is not a metric of this "
                          "config"));
}

TEST(ConfigLoaderTest, RatioCycle) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(  - name: a
    measure: {ratio: {numerator: b, denominator: wau}}
  - name: b
    measure: {ratio: {numerator: a, denominator: wau}}
)")),
              ElementsAre("t.yaml:7:14: ratio cycle: a -> b -> a"));
}

TEST(ConfigLoaderTest, TwoNorthStars) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(  - name: dau
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: day}
)")),
              ElementsAre("t.yaml:7:11: a second north_star (\"dau\"; the first is \"wau\"): "
                          "exactly one metric is the north star; make this one a focus or "
                          "input"));
}

TEST(ConfigLoaderTest, NoNorthStar) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    measure: {distinct: userId}
    window: {tumbling: week}
)"),
              ElementsAre("t.yaml:2:3: no metric has role north_star: exactly one must (the "
                          "metric that measures the value customers get)"));
}

TEST(ConfigLoaderTest, BadDuration) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {rolling: 7days}
)"),
              ElementsAre("t.yaml:5:23: bad duration \"7days\": unit must be one of ms, s, m, "
                          "h, d, w (e.g. 72h, 7d)"));
}

TEST(ConfigLoaderTest, KafkaAssignmentIsGroupByDefaultAllOnRequestNothingElse) {
  EXPECT_EQ(ParseConfig(kWau, "t.yaml").config->kafka.assignment, PartitionAssignment::kGroup);
  const std::string all = absl::StrCat("kafka:\n  assignment: all\n", kWau);
  EXPECT_THAT(Messages(all), ::testing::IsEmpty());
  EXPECT_EQ(ParseConfig(all, "t.yaml").config->kafka.assignment,
            PartitionAssignment::kAllPartitions);
  // "static" would be static membership (group.instance.id), which is a group
  // mode: refused, at the value (line 2, column 15).
  EXPECT_THAT(Messages(absl::StrCat("kafka:\n  assignment: static\n", kWau)),
              ElementsAre("t.yaml:2:15: kafka.assignment must be group (the consumer group "
                          "assigns partitions) or all (this instance reads every partition of "
                          "kafka.topics)"));
}

TEST(ConfigLoaderTest, PipelineThreadsDefaultsToOnePerCoreAndIsBounded) {
  // 0: the daemon counts the cores it may use at start.
  EXPECT_EQ(ParseConfig(kWau, "t.yaml").config->pipeline.threads, 0);
  EXPECT_EQ(ParseConfig(absl::StrCat("pipeline:\n  threads: 3\n", kWau), "t.yaml")
                .config->pipeline.threads,
            3);
  EXPECT_THAT(Messages(absl::StrCat("pipeline:\n  threads: -1\n", kWau)),
              ElementsAre("t.yaml:2:12: pipeline.threads must be at least 0"));
  EXPECT_THAT(Messages(absl::StrCat("pipeline:\n  threads: 1025\n", kWau)),
              ElementsAre("t.yaml:2:12: pipeline.threads must be at most 1024 (0: one per core)"));
}

TEST(ConfigLoaderTest, KafkaInstanceIdIsDerivedUnlessGiven) {
  // Empty: the daemon derives "<host>-<hash of state dir>" at start.
  EXPECT_EQ(ParseConfig(kWau, "t.yaml").config->kafka.instance_id, "");
  EXPECT_EQ(ParseConfig(absl::StrCat("kafka:\n  instance_id: nsmd-0\n", kWau), "t.yaml")
                .config->kafka.instance_id,
            "nsmd-0");
  EXPECT_THAT(Messages(absl::StrCat("kafka:\n  instance_id: [a]\n", kWau)),
              ElementsAre("t.yaml:2:16: expected a string for kafka.instance_id"));
}

TEST(ConfigLoaderTest, KafkaRekeyIsAutoUnlessSet) {
  const DaemonConfig plain = *ParseConfig(kWau, "t.yaml").config;
  EXPECT_EQ(plain.kafka.rekey, RekeyMode::kAuto);
  EXPECT_EQ(plain.kafka.rekey_partitions, 0);
  const DaemonConfig on =
      *ParseConfig(absl::StrCat("kafka:\n  rekey: true\n  rekey_partitions: 16\n", kWau), "t.yaml")
           .config;
  EXPECT_EQ(on.kafka.rekey, RekeyMode::kOn);
  EXPECT_EQ(on.kafka.rekey_partitions, 16);
  EXPECT_EQ(
      ParseConfig(absl::StrCat("kafka:\n  rekey: false\n", kWau), "t.yaml").config->kafka.rekey,
      RekeyMode::kOff);
  EXPECT_EQ(
      ParseConfig(absl::StrCat("kafka:\n  rekey: auto\n", kWau), "t.yaml").config->kafka.rekey,
      RekeyMode::kAuto);
  // "  rekey: " is 9 characters: the value at column 10.
  EXPECT_THAT(Messages(absl::StrCat("kafka:\n  rekey: sometimes\n", kWau)),
              ElementsAre("t.yaml:2:10: kafka.rekey must be auto, true or false"));
  EXPECT_THAT(Messages(absl::StrCat("kafka:\n  rekey_partitions: 0\n", kWau)),
              ElementsAre("t.yaml:2:21: kafka.rekey_partitions must be at least 1"));
}

TEST(ConfigLoaderTest, BadRegex) {
  std::vector<std::string> m = Messages(R"(metrics:
  - name: docs
    role: north_star
    filter: {where: {field: properties.path, matches: "(unclosed"}}
    measure: events
    window: lifetime
)");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(
      absl::StartsWith(m[0], "t.yaml:4:55: bad regular expression \"(unclosed\": missing )"))
      << m[0];
}

TEST(ConfigLoaderTest, UnknownTimeZone) {
  EXPECT_THAT(Messages(absl::StrCat("time: {zone: Mars/Olympus}\n", kWau)),
              ElementsAre("t.yaml:1:14: unknown time zone \"Mars/Olympus\" (an IANA name such as "
                          "UTC or Europe/Berlin)"));
}

TEST(ConfigLoaderTest, CohortWithoutAnchor) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: collaborating
    role: north_star
    measure: {entities: context.groupId, having: "distinct(userId) > 3"}
    window: {cohort: {entity: context.groupId, length: 7d}}
)"),
              ElementsAre("t.yaml:5:22: a cohort window needs \"anchor\" (the event that opens an "
                          "entity's window, e.g. {event: team_created})"));
}

TEST(ConfigLoaderTest, BadHaving) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: teams
    role: north_star
    measure: {entities: context.groupId, having: "distinct(userId) >> 3"}
    window: {tumbling: week}
)"),
              ElementsAre("t.yaml:4:50: bad \"having\" expression \"distinct(userId) >> 3\": "
                          "expected count, distinct(FIELD) or sum(FIELD), a comparison (>, >=, <, "
                          "<=, ==) and a number, e.g. \"distinct(userId) > 3\""));
}

TEST(ConfigLoaderTest, EveryErrorIsReportedInFileOrder) {
  EXPECT_THAT(Messages(R"(time: {zone: Mars/Olympus, week_start: someday}
metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {rolling: 7days}
)"),
              ElementsAre("t.yaml:1:14: unknown time zone \"Mars/Olympus\" (an IANA name such as "
                          "UTC or Europe/Berlin)",
                          "t.yaml:1:40: time.week_start must be a day name, e.g. monday",
                          "t.yaml:6:23: bad duration \"7days\": unit must be one of ms, s, m, "
                          "h, d, w (e.g. 72h, 7d)"));
}

TEST(ConfigLoaderTest, GroupByWithoutCapIsAWarningNotAnError) {
  ConfigLoadResult r =
      ParseConfig(absl::StrCat(kWau, "    group_by: {plan: properties.plan}\n"), "t.yaml");
  ASSERT_TRUE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "t.yaml:6:15: warning: high-cardinality risk: group_by without max_series in metric "
            "\"wau\" (capped at the default of 1000 series; the rest fold into __other__)");
}

TEST(ConfigLoaderTest, CandidateWithoutValidationMetricIsAWarning) {
  // kWau is 5 lines; "    role: " is 10 characters: the role is at 7:11.
  const std::string candidate = R"(  - name: wat
    role: candidate
    measure: {distinct: userId}
    window: {tumbling: week}
)";
  ConfigLoadResult r = ParseConfig(absl::StrCat(kWau, candidate), "t.yaml");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->metrics[1].metadata.role, MetricRole::kCandidate);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "t.yaml:7:11: warning: candidate \"wat\" has nothing to be validated against: no "
            "metric has role validation (e.g. revenue)");
  // clang-format off
  ConfigLoadResult with_revenue = ParseConfig(absl::StrCat(kWau, candidate, R"(  - name: revenue
    role: validation
    measure: {sum: properties.amount}
    window: {tumbling: week}
)"), "t.yaml");
  // clang-format on
  ASSERT_TRUE(with_revenue.config.has_value());
  EXPECT_TRUE(with_revenue.diagnostics.empty());
}

TEST(ConfigLoaderTest, MissingFile) {
  ConfigLoadResult r = LoadConfigFile("/nonexistent/nsmd.yaml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(), "/nonexistent/nsmd.yaml:1:1: cannot read the config file");
}

TEST(ConfigLoaderTest, YamlSyntaxErrorIsLocated) {
  std::vector<std::string> m = Messages("metrics:\n  - name: [unclosed\n");
  ASSERT_FALSE(m.empty());
  EXPECT_TRUE(absl::StartsWith(m[0], "t.yaml:3:")) << m[0];
}

TEST(ConfigLoaderTest, CheckedInConfigsLoadWithoutDiagnostics) {
  for (const char* file : {"config/demo.yaml", "config/nsmd.yaml", "config/examples/saas.yaml",
                           "config/examples/ecommerce.yaml", "config/examples/services.yaml"}) {
    ConfigLoadResult r = LoadConfigFile(absl::StrCat(NSMD_SOURCE_DIR, "/", file));
    EXPECT_TRUE(r.config.has_value()) << file;
    for (const ConfigDiagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  }
}

TEST(ConfigLoaderTest, SaasNorthStarIsTheCohortDefinition) {
  ConfigLoadResult r = LoadConfigFile(absl::StrCat(NSMD_SOURCE_DIR, "/config/examples/saas.yaml"));
  ASSERT_TRUE(r.config.has_value());
  const DaemonConfig& c = *r.config;
  const MetricDefinition& m = c.metrics[0];
  EXPECT_EQ(m.name, "collaborating_teams");
  EXPECT_EQ(m.metadata.role, MetricRole::kNorthStar);
  EXPECT_EQ(m.measure.kind, MeasureKind::kEntities);
  EXPECT_EQ(c.catalog->path(m.measure.entity), "context.groupId");
  EXPECT_EQ(m.measure.aggregate, EntityAggregate::kDistinct);
  EXPECT_EQ(c.catalog->path(m.measure.aggregate_field), "userId");
  EXPECT_EQ(m.measure.comparison, Comparison::kGt);
  EXPECT_EQ(m.measure.threshold, 3);
  EXPECT_EQ(m.window.kind, WindowKind::kCohort);
  EXPECT_EQ(m.window.length, absl::Hours(7 * 24));
  EXPECT_EQ(m.window.period, CalendarUnit::kWeek);
  EXPECT_EQ(c.catalog->path(m.window.cohort_entity), "context.groupId");
  EXPECT_EQ(m.filter.names().size(), 2u);
  EXPECT_TRUE(m.window.anchor.names().contains("team_created"));
  EXPECT_EQ(c.engine.week_start, absl::Weekday::monday);
  EXPECT_EQ(c.engine.allowed_lateness, absl::Hours(1));
  // The ratio takes its operands' cohort window.
  EXPECT_EQ(c.metrics[2].name, "team_activation_rate");
  EXPECT_EQ(c.metrics[2].window.kind, WindowKind::kCohort);
}

TEST(ConfigLoaderTest, FingerprintIgnoresMetadataNotTheDefinition) {
  auto fingerprint = [](const std::string& extra, const std::string& event) {
    // clang-format off
    ConfigLoadResult r = ParseConfig(absl::StrCat(R"(metrics:
  - name: wau
    role: north_star
)", extra, "    filter: {event: ", event, R"(}
    measure: {distinct: userId}
    window: {tumbling: week}
)"),
                                     "t.yaml");
    // clang-format on
    return r.config ? r.config->metrics[0].fingerprint : "invalid";
  };
  const std::string base = fingerprint("", "file_edited");
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(fingerprint("    description: people who edit\n    owner: growth\n", "file_edited"),
            base);
  EXPECT_NE(fingerprint("", "comment_added"), base);
}

TEST(ConfigLoaderTest, UnknownWindowKindIsReportedAtItsKeyAndLoadingGoesOn) {
  // "    window: {" is 13 characters, so the kind starts at column 14; the
  // error in the next metric (line 9) is still found.
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {tumblng: week}
  - name: dau
    measure: {distinct: userId}
    window: {rollin: 7d}
    ownr: growth
)"),
              ElementsAre("t.yaml:5:14: unknown window kind \"tumblng\" (did you mean "
                          "\"tumbling\"?)",
                          "t.yaml:8:14: unknown window kind \"rollin\" (did you mean "
                          "\"rolling\"?)",
                          "t.yaml:9:5: unknown key \"ownr\" in metric; did you mean \"owner\"?"));
}

TEST(ConfigLoaderTest, BrokenMetricsRaiseNoFollowOnErrors) {
  // ns (the north star) and b fail; the ratio and the input that name them
  // and the north-star rule stay quiet: only the two real errors remain.
  // "    window: {tumbling: " is 23 characters, "    window: {rolling: " 22.
  EXPECT_THAT(Messages(R"(metrics:
  - name: ns
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: fortnight}
  - name: b
    measure: {distinct: userId}
    window: {rolling: 7days}
  - name: rate
    inputs: [b]
    measure: {ratio: {numerator: ns, denominator: b}}
)"),
              ElementsAre("t.yaml:5:24: window.tumbling must be hour, day, week or month, not "
                          "\"fortnight\"",
                          "t.yaml:8:23: bad duration \"7days\": unit must be one of ms, s, m, "
                          "h, d, w (e.g. 72h, 7d)"));
}

TEST(ConfigLoaderTest, UnknownRoleDoesNotAlsoReportAMissingNorthStar) {
  // "    role: " is 10 characters: the value is at column 11.
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: nort_star
    measure: {distinct: userId}
    window: {tumbling: week}
)"),
              ElementsAre("t.yaml:3:11: unknown role \"nort_star\": north_star, input, focus, "
                          "guardrail, validation or candidate"));
}

TEST(ConfigLoaderTest, RatioOperandsWithDifferentGroupBy) {
  // "    measure: " is 13 characters: the ratio's measure is at 12:14.
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(  - name: wau_by_plan
    measure: {distinct: userId}
    window: {tumbling: week}
    group_by: {plan: properties.plan}
    max_series: 5
  - name: share
    measure: {ratio: {numerator: wau_by_plan, denominator: wau}}
)")),
              ElementsAre("t.yaml:12:14: ratio operands \"wau_by_plan\" and \"wau\" have "
                          "different group_by ({plan: properties.plan} vs none); a ratio divides "
                          "each numerator series by the denominator series with the same labels, "
                          "so it would yield no sample"));
}

TEST(ConfigLoaderTest, RatioOfCohortsWithDifferentAnchors) {
  EXPECT_THAT(
      Messages(R"(metrics:
  - name: created
    role: north_star
    filter: {event: team_created}
    measure: {entities: context.groupId}
    window: {cohort: {anchor: {event: team_created}, entity: context.groupId, length: 7d}}
  - name: invited
    filter: {event: user_invited}
    measure: {entities: context.groupId}
    window: {cohort: {anchor: {event: signed_up}, entity: context.groupId, length: 7d}}
  - name: rate
    measure: {ratio: {numerator: invited, denominator: created}}
)"),
      ElementsAre("t.yaml:12:14: ratio operands \"invited\" and \"created\" are cohorts with "
                  "different anchors ({event: [signed_up]} vs {event: [team_created]}); their "
                  "cohort periods hold different entities and do not line up, so the ratio "
                  "would yield no sample"));
}

TEST(ConfigLoaderTest, RatioOfCohortsWithTheSameAnchorIsFine) {
  ConfigLoadResult r = ParseConfig(R"(metrics:
  - name: created
    role: north_star
    filter: {event: team_created}
    measure: {entities: context.groupId}
    window: {cohort: {anchor: {event: team_created}, entity: context.groupId, length: 7d}}
  - name: invited
    filter: {event: user_invited}
    measure: {entities: context.groupId}
    window: {cohort: {anchor: {event: [team_created]}, entity: context.groupId, length: 7d}}
  - name: rate
    measure: {ratio: {numerator: invited, denominator: created}}
)",
                                   "t.yaml");
  EXPECT_TRUE(r.config.has_value());
  EXPECT_TRUE(r.diagnostics.empty());
}

TEST(ConfigLoaderTest, EveryRatioCycleIsReportedOnce) {
  // a -> b -> a and a -> c -> a share a (both at a's measure, 7:14; c names a
  // twice but that is one cycle); d -> d is a third. Each is listed from its
  // first metric in file order.
  // clang-format off
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(  - name: a
    measure: {ratio: {numerator: b, denominator: c}}
  - name: b
    measure: {ratio: {numerator: a, denominator: wau}}
  - name: c
    measure: {ratio: {numerator: a, denominator: a}}
  - name: d
    measure: {ratio: {numerator: d, denominator: wau}}
)")),
              ElementsAre("t.yaml:7:14: ratio cycle: a -> b -> a",
                          "t.yaml:7:14: ratio cycle: a -> c -> a",
                          "t.yaml:13:14: ratio cycle: d -> d"));
  // clang-format on
}

TEST(ConfigLoaderTest, DuplicateKeysAreErrorsAtTheSecondOne) {
  // Line 4: "    filter: {" is 13 characters, so the first "event" is at column
  // 14 and the second, after "event: a, " (10), at 24. Line 7: the second
  // role, at column 5.
  EXPECT_THAT(Messages(R"(metrics:
  - name: wau
    role: north_star
    filter: {event: a, event: b}
    measure: {distinct: userId}
    window: {tumbling: week}
    role: input
)"),
              ElementsAre("t.yaml:4:24: duplicate key \"event\" (first at line 4, column 14)",
                          "t.yaml:7:5: duplicate key \"role\" (first at line 3, column 5)"));
}

TEST(ConfigLoaderTest, ExplicitEventFormatDecodesThroughItsPaths) {
  ConfigLoadResult r = ParseConfig(absl::StrCat(R"(events:
  format: {name: action, timestamp: at, id: uuid, user: account.id, user_fallback: [device]}
)",
                                                kWau),
                                   "t.yaml");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_TRUE(r.diagnostics.empty());
  const EventFormat& f = r.config->format;
  EXPECT_EQ(f.format_name, "custom");
  EXPECT_THAT(f.name_paths, ElementsAre("action"));
  EXPECT_THAT(f.time_paths, ElementsAre("at"));
  EXPECT_THAT(f.id_paths, ElementsAre("uuid"));
  EXPECT_EQ(f.user_path, "account.id");
  EXPECT_THAT(f.user_fallback_paths, ElementsAre("device"));

  const FieldId user = r.config->catalog->Intern("account.id");
  EventDecoder decoder(f, r.config->catalog.get());
  const Event* e = nullptr;
  RejectReason reason;
  // 2024-01-01T00:00:00Z is 1704067200 s after the epoch (19723 days * 86400).
  // clang-format off
  ASSERT_OK(decoder
                  .Decode(R"({"action":"file_edited","at":"2024-01-01T00:00:00Z","uuid":"m-1",
                             "account":{"id":"u-7"}})",
                          &e, &reason));
  // clang-format on
  EXPECT_EQ(e->name, "file_edited");
  EXPECT_EQ(e->time, EventTime(1704067200000));
  EXPECT_EQ(e->id, "m-1");
  EXPECT_EQ(e->field(user).str, "u-7");
  // No account.id: the user comes from the fallback path.
  ASSERT_OK(decoder.Decode(R"({"action":"x","at":1704067200000,"device":"d-3"})", &e, &reason));
  EXPECT_EQ(e->field(user).str, "d-3");
  EXPECT_EQ(e->id, "");
  // Segment's "event" means nothing in this format: the name is missing.
  EXPECT_FALSE(decoder.Decode(R"({"event":"x","at":1704067200000})", &e, &reason).ok());
  EXPECT_EQ(reason, RejectReason::kMissingName);
}

TEST(ConfigLoaderTest, ExplicitEventFormatNeedsNameAndTimestamp) {
  // "  format: " is 10 characters: the mapping is at 2:11.
  EXPECT_THAT(Messages(absl::StrCat("events:\n  format: {name: action}\n", kWau)),
              ElementsAre("t.yaml:2:11: a custom events.format needs at least \"name\" and "
                          "\"timestamp\" paths"));
}

TEST(MetricTreeTest, NorthStarFirstInputsIndentedOthersLast) {
  ConfigLoadResult r = ParseConfig(R"(metrics:
  - name: ns
    role: north_star
    inputs: [wau]
    filter: {event: file_edited}
    measure: {entities: context.groupId, having: "distinct(userId) > 3"}
    window: {tumbling: week}
  - name: wau
    measure: {distinct: userId}
    window: {tumbling: week}
  - name: reading
    role: guardrail
    measure: {sum: properties.duration_ms}
    window: {rolling: 36h}
)",
                                   "t.yaml");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(RenderMetricTree(r.config->metrics, *r.config->catalog),
            "ns (north_star): entities context.groupId with distinct(userId) > 3, tumbling week\n"
            "  └─ wau (input): distinct userId, tumbling week\n"
            "other metrics:\n"
            "  └─ reading (guardrail): sum properties.duration_ms, rolling 36h\n");
}

// --- alert: blocks and the alerting: section (read by `nsmd rules`) ---

TEST(ConfigLoaderAlertTest, ReadsEveryField) {
  // clang-format off
  ConfigLoadResult r = ParseConfig(absl::StrCat(kWau, R"(    alert:
      drop_percent: 20
      compare_to: 4w
      stall_windows: 2
      below: 10
      above: 1e6
      for: 6h
      severity: critical
      labels: {team: growth}
alerting:
  runbook_url: https://wiki.example.com/nsmd
  dashboard_url: https://grafana.example.com/d/nsm
  rejected_share: 0.01
)"), "t.yaml");
  // clang-format on
  ASSERT_TRUE(r.config) << (r.diagnostics.empty() ? "" : r.diagnostics[0].ToString());
  const AlertSpec& a = r.config->alerts.at("wau");
  EXPECT_EQ(*a.drop_percent, 20);
  EXPECT_EQ(*a.compare_to, absl::Hours(24 * 28));
  EXPECT_EQ(a.stall_windows, 2);
  EXPECT_EQ(*a.below, 10);
  EXPECT_EQ(*a.above, 1e6);
  EXPECT_EQ(*a.for_duration, absl::Hours(6));
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.labels.at("team"), "growth");
  EXPECT_EQ(r.config->alerting.runbook_url, "https://wiki.example.com/nsmd");
  EXPECT_EQ(r.config->alerting.dashboard_url, "https://grafana.example.com/d/nsm");
  EXPECT_EQ(r.config->alerting.rejected_share, 0.01);
}

TEST(ConfigLoaderAlertTest, DefaultsCompareWithThePreviousWindow) {
  ConfigLoadResult r = ParseConfig(absl::StrCat(kWau, "    alert: {drop_percent: 30}\n"), "t.yaml");
  ASSERT_TRUE(r.config);
  const AlertSpec& a = r.config->alerts.at("wau");
  EXPECT_FALSE(a.compare_to.has_value());
  EXPECT_FALSE(a.for_duration.has_value());
  EXPECT_EQ(a.severity, "warning");
  EXPECT_TRUE(r.config->alerting.runbook_url.empty());
}

TEST(ConfigLoaderAlertTest, EveryBadFieldAtItsPosition) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(    alert:
      drop_percent: 120
      stall_windows: 0
      below: ten
      for: soon
      severity: page
      labels: {alertname: x}
      colour: red
)")),
              ElementsAre("t.yaml:7:21: alert.drop_percent must be above 0 and at most 100",
                          "t.yaml:8:22: alert.stall_windows must be a whole number of windows "
                          "from 1 to 52",
                          "t.yaml:9:14: expected a number for alert.below",
                          "t.yaml:10:12: bad duration \"soon\": expected a number "
                          "and a unit, e.g. 90s, 72h, 7d",
                          "t.yaml:11:17: alert.severity must be critical, warning or info",
                          "t.yaml:12:16: \"alertname\" cannot be an alert label (letters, "
                          "digits, _; not starting with __; not alertname, severity, metric or "
                          "owner, which nsmd sets)",
                          "t.yaml:13:7: unknown key \"colour\" in the alert of metric \"wau\""));
}

TEST(ConfigLoaderAlertTest, LifetimeHasNoPreviousWindow) {
  EXPECT_THAT(Messages(R"(metrics:
  - name: builders
    role: north_star
    measure: {entities: context.groupId}
    window: lifetime
    alert:
      drop_percent: 10
)"),
              ElementsAre("t.yaml:7:21: metric \"builders\" has a lifetime window, which has no "
                          "previous window: give alert.compare_to a duration (e.g. 1w)"));
}

TEST(ConfigLoaderAlertTest, ConditionsThatCannotWork) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, "    alert: {below: 5, above: 5}\n")),
              ElementsAre("t.yaml:6:30: alert.above must be greater than alert.below (the value "
                          "could never be fine)"));
  EXPECT_THAT(Messages(absl::StrCat(kWau, "    alert: {severity: info}\n")),
              ElementsAre("t.yaml:6:12: the alert of metric \"wau\" watches nothing: give "
                          "drop_percent, stall_windows, below or above"));
  EXPECT_THAT(Messages(absl::StrCat(kWau, "    alert: {below: 1, compare_to: 1w}\n")),
              ElementsAre("t.yaml:6:35: alert.compare_to is the baseline of drop_percent, which "
                          "is not set"));
}

TEST(ConfigLoaderAlertTest, AlertingSection) {
  EXPECT_THAT(Messages(absl::StrCat(kWau, R"(alerting:
  runbook_url: wiki/nsmd
  rejected_share: 2
  dashbord_url: https://x
)")),
              ElementsAre("t.yaml:7:16: expected an http:// or https:// URL for "
                          "alerting.runbook_url",
                          "t.yaml:8:19: alerting.rejected_share must be between 0 and 1 (e.g. "
                          "0.05)",
                          "t.yaml:9:3: unknown key \"dashbord_url\" in alerting; did you mean "
                          "\"dashboard_url\"?"));
}

}  // namespace
}  // namespace nsmd
