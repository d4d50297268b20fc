// `nsmd replay` of the example configs on small hand-made histories, through
// the built binary. Every expected value below is derived by hand from the
// history files in tests/app/testdata/ (the derivation is in the comments).
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using Output = testing::CommandOutput;

Output RunNsmd(const std::string& args) { return testing::RunNsmdCommand(args); }

std::string Source(const std::string& relative) {
  return absl::StrCat(NSMD_SOURCE_DIR, "/", relative);
}

// Each series of `--series json` output as "metric{labels} start end = value".
std::multiset<std::string> SeriesOf(const std::string& json) {
  std::multiset<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc)) return {"<not JSON>"};
  for (simdjson::dom::element s : doc.get_array()) {
    std::string labels;
    for (auto field : s["labels"].get_object()) {
      absl::StrAppend(&labels, labels.empty() ? "" : ",", std::string(field.key), "=",
                      std::string(field.value.get_string().value()));
    }
    out.insert(absl::StrCat(std::string(s["metric"].get_string().value()), "{", labels, "} ",
                            std::string(s["window_start"].get_string().value()), " ",
                            std::string(s["window_end"].get_string().value()), " = ",
                            s["value"].get_double().value()));
  }
  return out;
}

// History (tests/app/testdata/saas_history.ndjson), weeks start Monday UTC:
//   t1 created Mon 2024-01-01 09:00 (plan team); u1,u2 edit Jan 2, u3
//     comments Jan 3, u4 edits Jan 4: 4 users > 3 within 7 days.
//   t2 created Wed Jan 3 12:00 (free); u5 edits, u6 comments Jan 4, u7 edits
//     Jan 8 09:00; u8 edits Jan 10 13:00, after its window closed (Jan 10
//     12:00): 3 users, not > 3.
//   t3 created Mon Jan 8 10:00 (enterprise), its anchor arriving AFTER u3's
//     comment of 10:05 (within the 1 h lateness); u9, u10 edit Jan 8, u11
//     comments Jan 9: 4 users > 3.
//   page views: 1000 ms Jan 3, 2500 ms Jan 4 (sent twice: same messageId),
//     4000 ms Tue Jan 16 12:00 (the last event: stream time).
//   project_created: t1 three times (Jan 5 u1, u2; Jan 9 u1), t2 once.
//   a line that is not JSON; u12's edit stamped Jan 2 00:00 arrives after
//     stream time reached Jan 10 13:00: late.
TEST(ReplayCommandTest, SaasExampleEverySeries) {
  Output o =
      RunNsmd(absl::StrCat("replay --config ", Source("config/examples/saas.yaml"), " --input ",
                           Source("tests/app/testdata/saas_history.ndjson"), " --series json"));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::multiset<std::string> expected = {
      // Cohort week of Jan 1: t1 collaborates, t2 does not; 2 teams created.
      "collaborating_teams{} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 1",
      "teams_created{} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 2",
      "team_activation_rate{} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 0.5",
      // Cohort week of Jan 8: t3, created and collaborating.
      "collaborating_teams{} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z = 1",
      "teams_created{} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z = 1",
      "team_activation_rate{} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z = 1",
      // Week of Jan 1: u1..u6 edit or comment; week of Jan 8: u7, u3, u9,
      // u10, u11, u8 (u12 is late).
      "weekly_active_users{} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 6",
      "weekly_active_users{} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z = 6",
      "weekly_active_users_by_plan{plan=team} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 4",
      "weekly_active_users_by_plan{plan=free} 2024-01-01T00:00:00Z 2024-01-08T00:00:00Z = 2",
      "weekly_active_users_by_plan{plan=free} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z = 2",
      "weekly_active_users_by_plan{plan=enterprise} 2024-01-08T00:00:00Z 2024-01-15T00:00:00Z "
      "= 4",
      // Rolling 7 days ending at stream time Jan 16 12:00:00 (whole seconds:
      // (Jan 9 12:00:00, Jan 16 12:00:00]): only u8 (Jan 10 13:00).
      "active_users_7d{} 2024-01-09T12:00:01Z 2024-01-16T12:00:01Z = 1",
      // t1 has 3 project_created: one builder team, ever.
      "project_builders{} 1970-01-01T00:00:00Z 2024-01-16T12:00:00Z = 1",
      // Reading per day; the repeated page view counts once.
      "daily_reading_ms{} 2024-01-03T00:00:00Z 2024-01-04T00:00:00Z = 1000",
      "daily_reading_ms{} 2024-01-04T00:00:00Z 2024-01-05T00:00:00Z = 2500",
      "daily_reading_ms{} 2024-01-16T00:00:00Z 2024-01-17T00:00:00Z = 4000",
  };
  EXPECT_EQ(SeriesOf(o.out), expected) << o.out;
  // 25 lines: 1 not JSON, 1 duplicate, 1 late, 22 applied.
  EXPECT_TRUE(absl::StrContains(o.err, "accepted 22\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "rejected 1\nrejected invalid_json 1\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "late 1\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "duplicate 1\n")) << o.err;
}

TEST(ReplayCommandTest, SaasExamplePrometheusText) {
  Output o = RunNsmd(absl::StrCat("replay --config ", Source("config/examples/saas.yaml"),
                                  " --input ", Source("tests/app/testdata/saas_history.ndjson")));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  // Stream time is in the week of Jan 15: weekly metrics' current window is
  // empty (0), previous is the week of Jan 8. Cohort "previous" is the newest
  // period whose every member window has closed: the week of Jan 8 can hold
  // teams created up to Sun Jan 14 23:59, whose 7-day windows end as late as
  // Jan 21, after stream time Jan 16 12:00; so it is still maturing and
  // "previous" is the week of Jan 1 (t1 collaborates, t2 does not: 1), which
  // starts 2024-01-01T00:00:00Z = 1704067200 s (54 years 1970-2023 with 13
  // leap days: (54 * 365 + 13) * 86400).
  for (
      const std::string& line : {
          std::string(R"(nsm_metric_value{metric="weekly_active_users",window="current"} 0)"),
          std::string(R"(nsm_metric_value{metric="weekly_active_users",window="previous"} 6)"),
          std::string(R"(nsm_metric_value{metric="collaborating_teams",window="previous"} 1)"),
          std::string(
              R"(nsm_metric_window_start_seconds{metric="collaborating_teams",window="previous"} 1704067200)"),
          std::string(R"(nsm_metric_value{metric="project_builders",window="current"} 1)"),
          std::string(R"(nsm_metric_value{metric="daily_reading_ms",window="current"} 4000)"),
      }) {
    EXPECT_TRUE(absl::StrContains(o.out, line + "\n")) << line << "\n" << o.out;
  }
}

// tests/app/testdata/ecommerce_history.ndjson; the shop's weeks are Berlin
// weeks (Monday 00:00 local), so in UTC: 2024-03-17T23:00Z (CET), then
// 2024-03-24T23:00Z, then 2024-03-31T22:00Z (CEST since the 31st: the week
// of the 25th is 167 hours long).
//   c1 orders Mar 19 (40) and Sun Mar 24 23:30Z = Mon 00:30 Berlin (20);
//   c2 orders Mar 20 (60) and Mar 31 22:30Z = Mon Apr 1 00:30 Berlin (30);
//   c3 orders Mar 24 22:30Z = Sun 23:30 Berlin (100), still the first week;
//   c4 orders Mar 31 21:30Z = Sun 23:30 CEST (80); c5 orders Apr 3 (50);
//   deliveries on time: c1 Mar 21, c1 Apr 2 (c2's Mar 22 was late).
TEST(ReplayCommandTest, EcommerceExampleAcrossTheDstChange) {
  Output o = RunNsmd(
      absl::StrCat("replay --config ", Source("config/examples/ecommerce.yaml"), " --input ",
                   Source("tests/app/testdata/ecommerce_history.ndjson"), " --series json"));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string w1 = "2024-03-17T23:00:00Z", w2 = "2024-03-24T23:00:00Z",
                    w3 = "2024-03-31T22:00:00Z", w4 = "2024-04-07T22:00:00Z";
  auto s = [](const std::string& metric, const std::string& a, const std::string& b,
              const std::string& v) { return absl::StrCat(metric, "{} ", a, " ", b, " = ", v); };
  const std::multiset<std::string> expected = {
      // First orders in the week of Mar 18: c1, c2 (both ordered again
      // within 90 days) and c3 (did not): 2. Later cohorts: c4, c5: 0.
      s("repeat_customers", w1, w2, "2"),
      s("repeat_customers", w2, w3, "0"),
      s("repeat_customers", w3, w4, "0"),
      s("weekly_ordering_customers", w1, w2, "3"),
      s("weekly_ordering_customers", w2, w3, "2"),
      s("weekly_ordering_customers", w3, w4, "2"),
      s("revenue", w1, w2, "200"),
      s("revenue", w2, w3, "100"),
      s("revenue", w3, w4, "80"),
      s("orders", w1, w2, "3"),
      s("orders", w2, w3, "2"),
      s("orders", w3, w4, "2"),
      // 200 / 3 (printed to 6 significant digits here), 100 / 2, 80 / 2.
      s("average_order_value", w1, w2, "66.6667"),
      s("average_order_value", w2, w3, "50"),
      s("average_order_value", w3, w4, "40"),
      s("on_time_deliveries", w1, w2, "1"),
      s("on_time_deliveries", w3, w4, "1"),
  };
  EXPECT_EQ(SeriesOf(o.out), expected) << o.out;
}

// tests/app/testdata/services_history.ndjson (Amplitude events, UTC weeks):
//   claim k1 opened Mon Jan 1 08:00, resolved Jan 3 07:00 (47 h, self
//   service); k2 opened Jan 2 09:00, resolved Jan 5 10:00 (73 h: too late,
//   agent); k3 resolved Jan 8 12:00 (self service) arriving BEFORE its
//   opening event of 11:30 (30 min, within the 1 h lateness); k4 resolved
//   Jan 15 by an agent, never opened in this history.
//   Services in January: a uses claims and travel (2), b claims twice (1);
//   b's Jan 12 event is sent twice in a row (same insert_id).
TEST(ReplayCommandTest, ServicesExampleWithAmplitudeEvents) {
  Output o =
      RunNsmd(absl::StrCat("replay --config ", Source("config/examples/services.yaml"), " --input ",
                           Source("tests/app/testdata/services_history.ndjson"), " --series json"));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string jan1 = "2024-01-01T00:00:00Z", jan8 = "2024-01-08T00:00:00Z",
                    jan15 = "2024-01-15T00:00:00Z", jan22 = "2024-01-22T00:00:00Z",
                    feb1 = "2024-02-01T00:00:00Z";
  auto s = [](const std::string& metric, const std::string& a, const std::string& b,
              const std::string& v) { return absl::StrCat(metric, "{} ", a, " ", b, " = ", v); };
  const std::multiset<std::string> expected = {
      s("claims_resolved_72h", jan1, jan8, "1"),   // k1 (k2 took 73 h)
      s("claims_resolved_72h", jan8, jan15, "1"),  // k3
      s("claims_opened", jan1, jan8, "2"),
      s("claims_opened", jan8, jan15, "1"),
      s("multi_service_customers", jan1, feb1, "1"),  // a
      s("claims_resolved", jan1, jan8, "2"),
      s("claims_resolved", jan8, jan15, "1"),
      s("claims_resolved", jan15, jan22, "1"),
      s("self_service_resolutions", jan1, jan8, "1"),
      s("self_service_resolutions", jan8, jan15, "1"),
      // 1/2 and 1/1; the week of Jan 15 has no self-service sample, so no
      // ratio sample either.
      s("self_service_resolution_rate", jan1, jan8, "0.5"),
      s("self_service_resolution_rate", jan8, jan15, "1"),
  };
  EXPECT_EQ(SeriesOf(o.out), expected) << o.out;
  EXPECT_TRUE(absl::StrContains(o.err, "accepted 11\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "duplicate 1\n")) << o.err;
}

// The input is read in blocks of 1 MiB: lines cross block boundaries, a line
// longer than a block grows the buffer (and is rejected as oversized, > 1 MiB
// by default), an empty line is skipped and the last line has no newline.
// Page views on Jan 1: 3,000 of 1 ms, the long one (7 ms, rejected), one of
// 1,000 ms, 3,000 more of 1 ms, the last of 5 ms: 6,002 accepted of 6,003
// non-empty lines, daily_reading_ms = 3,000 + 1,000 + 3,000 + 5 = 7,005.
TEST(ReplayCommandTest, LinesAcrossReadBlocksLongLinesAndNoFinalNewline) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-replay-blocks");
  const std::string input = (dir / "events.ndjson").string();
  auto view = [](int i, int ms, const std::string& pad) {
    return absl::StrCat(R"({"type":"track","event":"page_viewed","userId":"u1","messageId":"m)", i,
                        R"(","timestamp":"2024-01-01T09:00:00Z","properties":{"duration_ms":)", ms,
                        pad.empty() ? "" : absl::StrCat(R"(,"pad":")", pad, "\""), "}}");
  };
  std::string text;
  for (int i = 0; i < 3000; ++i) absl::StrAppend(&text, view(i, 1, ""), "\n");
  absl::StrAppend(&text, "\n", view(-1, 7, std::string(3 << 20, 'x')), "\n");
  absl::StrAppend(&text, view(3000, 1000, ""), "\n");
  for (int i = 3001; i < 6001; ++i) absl::StrAppend(&text, view(i, 1, ""), "\n");
  absl::StrAppend(&text, view(6001, 5, ""));
  ASSERT_GT(text.size(), 3u << 20);
  std::FILE* f = std::fopen(input.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  std::fclose(f);
  Output o = RunNsmd(
      absl::StrCat("replay --config ", Source("config/examples/saas.yaml"), " --input ", input));
  std::filesystem::remove_all(dir);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "accepted 6002\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "rejected oversized 1\n")) << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "replayed 6003 events")) << o.err;
  EXPECT_TRUE(absl::StrContains(
      o.out, R"(nsm_metric_value{metric="daily_reading_ms",window="current"} 7005)"
             "\n"))
      << o.out;
}

TEST(ReplayCommandTest, UsageAndConfigErrors) {
  EXPECT_EQ(RunNsmd("replay --config x.yaml").exit_code, 2);
  EXPECT_EQ(RunNsmd("replay --config x.yaml --input - --series csv").exit_code, 2);
  Output missing = RunNsmd("replay --config /nonexistent/nsmd.yaml --input -");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(missing.err, "/nonexistent/nsmd.yaml:")) << missing.err;
}

}  // namespace
}  // namespace nsmd
