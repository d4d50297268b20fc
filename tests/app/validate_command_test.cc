// `nsmd validate` through the built binary: how windows are read per
// period on a hand-made history, and the verdicts on the example history
// whose answers are known by construction (config/examples/
// validation_history.py chose the weekly numbers before drawing events).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/daemon_harness.h"

namespace nsmd {
namespace {

using Output = testing::CommandOutput;

std::string Source(const std::string& relative) {
  return absl::StrCat(NSMD_SOURCE_DIR, "/", relative);
}

// The values of series `metric` in a --json result; NaN for null.
std::vector<double> Values(simdjson::dom::element doc, const std::string& metric) {
  std::vector<double> out;
  for (simdjson::dom::element s : doc["series"].get_array()) {
    if (std::string(s["metric"].get_string().value()) != metric) continue;
    for (simdjson::dom::element v : s["values"].get_array()) {
      out.push_back(v.is_null() ? NAN : v.get_double().value());
    }
  }
  return out;
}

// The score object of `metric`.
simdjson::dom::element Score(simdjson::dom::element doc, const std::string& metric) {
  for (simdjson::dom::element s : doc["scores"].get_array()) {
    if (std::string(s["metric"].get_string().value()) == metric) return s;
  }
  ADD_FAILURE() << "no score for " << metric;
  return doc;
}

std::string Str(simdjson::dom::element e) { return std::string(e.get_string().value()); }

class ValidateCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("nsmd-validate-test"); }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::filesystem::path dir_;
  simdjson::dom::parser parser_;
};

// History (tests/app/testdata/validate_periods.ndjson), weeks from Monday
// 2024-01-01 UTC: signup u1 Jan 1 09:00, u4 Jan 22 08:00; seen u1 Jan 1, u2 Jan 3, u3 Sun Jan 7
// 20:00; order 10 Jan 2; seen u1 Jan 9; order 30 Jan 10 12:00; nothing in the week of Jan 15; seen
// u4 Jan 22 09:00; seen u5 Jan 29 00:30 (its week is incomplete: left out). So 4 weeks, Jan 1 to
// Jan 29.
//   wau (its week window): 3, 1, 0, 1.  revenue: 10, 30, 0, 0.
//   users_7d (rolling, read at each week's end = before the first event of
//   a later week): at Jan 7 20:00 u1,u2,u3 = 3; at Jan 10 12:00 (Jan 3
//   12:00, Jan 10 12:00] holds u3, u1 = 2; the empty week of Jan 15 reads
//   the same 2 (nothing happened since); at Jan 22 09:00 u4 = 1.
//   users_ever (lifetime): 3, 3, 3, 4.
//   activated (cohort of signups, seen within 7 days): u1 in the week of
//   Jan 1, none in the next two, u4 in the week of Jan 22 -- but that
//   cohort's windows close Feb 5 at the latest, after the last event (Jan 29
//   00:30): still maturing, so missing. 1, 0, 0, missing.
//   revenue_per_user = revenue / wau: 10/3, 30, then no sample (no revenue
//   window in weeks 3 and 4).
// 4 weeks < 8 paired periods: every verdict is "not enough history".
TEST_F(ValidateCommandTest, ReadsEachWindowPerWeek) {
  const std::filesystem::path json = dir_ / "result.json";
  Output o = testing::RunNsmdCommand(absl::StrCat(
      "validate --config ", Source("tests/app/testdata/validate_periods.yaml"), " --input ",
      Source("tests/app/testdata/validate_periods.ndjson"), " --json ", json.string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string text = testing::ReadFile(json);
  simdjson::dom::element doc;
  ASSERT_FALSE(parser_.parse(text).get(doc)) << text;
  EXPECT_EQ(Str(doc["cadence"]), "week");
  std::vector<std::string> periods;
  for (simdjson::dom::element p : doc["periods"].get_array()) periods.push_back(Str(p));
  EXPECT_EQ(periods, (std::vector<std::string>{"2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z",
                                               "2024-01-15T00:00:00Z", "2024-01-22T00:00:00Z"}));
  EXPECT_EQ(Str(doc["end"]), "2024-01-29T00:00:00Z");
  EXPECT_EQ(Values(doc, "wau"), (std::vector<double>{3, 1, 0, 1}));
  EXPECT_EQ(Values(doc, "revenue"), (std::vector<double>{10, 30, 0, 0}));
  EXPECT_EQ(Values(doc, "users_7d"), (std::vector<double>{3, 2, 2, 1}));
  EXPECT_EQ(Values(doc, "users_ever"), (std::vector<double>{3, 3, 3, 4}));
  const std::vector<double> activated = Values(doc, "activated");
  ASSERT_EQ(activated.size(), 4u);
  EXPECT_EQ(activated[0], 1);
  EXPECT_EQ(activated[1], 0);
  EXPECT_EQ(activated[2], 0);
  EXPECT_TRUE(std::isnan(activated[3]));
  const std::vector<double> ratio = Values(doc, "revenue_per_user");
  ASSERT_EQ(ratio.size(), 4u);
  EXPECT_NEAR(ratio[0], 10.0 / 3, 1e-9);
  EXPECT_EQ(ratio[1], 30);
  EXPECT_TRUE(std::isnan(ratio[2]));
  EXPECT_TRUE(std::isnan(ratio[3]));
  for (const char* metric : {"wau", "users_7d", "revenue_per_user"}) {
    EXPECT_EQ(Str(Score(doc, metric)["verdict"]), "not_enough_history") << metric;
    EXPECT_TRUE(Score(doc, metric)["r"].is_null()) << metric;
  }
  EXPECT_TRUE(absl::StrContains(o.out, "4 complete weeks, 2024-01-01 to 2024-01-29")) << o.out;
  EXPECT_TRUE(absl::StrContains(o.out, "not enough history (4 weeks")) << o.out;
}

// With --min-periods 3 the first lag has 4 pairs: wau 3,1,0,1 against
// revenue 10,30,0,0. Means 1.25 and 10; deviations 1.75,-0.25,-1.25,-0.25
// and 0,20,-10,-10: Σdxdy = 0-5+12.5+2.5 = 10, Σdx² = 3.0625+0.0625+
// 1.5625+0.0625 = 4.75, Σdy² = 600: r = 10/√2850 = 0.187317. Lag 1 pairs
// wau 3,1,0 with revenue 30,0,0: means 4/3 and 10, Σdxdy = 50, Σdx² = 14/3,
// Σdy² = 600: r = 50/√2800 = 0.944911, the best: wau "leads" by 1 week.
// The history comes on stdin, gzip-compressed.
TEST_F(ValidateCommandTest, LagsByHandFromGzipOnStdin) {
  const std::filesystem::path gz = dir_ / "history.ndjson.gz";
  ASSERT_EQ(
      std::system(absl::StrCat("gzip -c ", Source("tests/app/testdata/validate_periods.ndjson"),
                               " > ", gz.string())
                      .c_str()),
      0);
  const std::filesystem::path json = dir_ / "result.json";
  Output o = testing::RunNsmdCommand(absl::StrCat(
      "validate --config ", Source("tests/app/testdata/validate_periods.yaml"),
      " --input - --min-periods 3 --max-lag 1 --json ", json.string(), " < ", gz.string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string text = testing::ReadFile(json);
  simdjson::dom::element doc;
  ASSERT_FALSE(parser_.parse(text).get(doc)) << text;
  simdjson::dom::element wau = Score(doc, "wau");
  EXPECT_EQ(Str(wau["verdict"]), "leads");
  EXPECT_EQ(wau["best_lag"].get_int64().value(), 1);
  EXPECT_NEAR(wau["r"].get_double().value(), 0.944911, 1e-6);
  EXPECT_NEAR(wau["lag_profile"].at(0)["r"].get_double().value(), 0.187317, 1e-6);
  EXPECT_EQ(wau["lag_profile"].at(0)["pairs"].get_int64().value(), 4);
  EXPECT_EQ(wau["lag_profile"].at(1)["pairs"].get_int64().value(), 3);
  EXPECT_TRUE(absl::StrContains(o.out, "leads revenue by 1 week (r 0.94 over 3 weeks)")) << o.out;
}

TEST_F(ValidateCommandTest, ErrorsExitNonZero) {
  const std::string config = Source("tests/app/testdata/validate_periods.yaml");
  Output missing = testing::RunNsmdCommand(
      absl::StrCat("validate --config ", config, " --input ", (dir_ / "none.ndjson").string()));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(missing.err, "cannot open")) << missing.err;
  Output bad = testing::RunNsmdCommand(
      absl::StrCat("validate --config ", config, " --input - --max-lag two < /dev/null"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--max-lag: \"two\" is not a whole number")) << bad.err;
  Output range = testing::RunNsmdCommand(
      absl::StrCat("validate --config ", config, " --input - --threshold 1.5 < /dev/null"));
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(range.err, "--threshold must be between -1 and 1")) << range.err;
  // An empty history is no error: there is just nothing to conclude.
  Output empty =
      testing::RunNsmdCommand(absl::StrCat("validate --config ", config, " --input - < /dev/null"));
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_TRUE(absl::StrContains(empty.out, "no complete week in the history")) << empty.out;
  // The saas example has no validation metric.
  Output none = testing::RunNsmdCommand(
      absl::StrCat("validate --config ", Source("config/examples/saas.yaml"), " --input ",
                   Source("tests/app/testdata/saas_history.ndjson")));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(none.err, "no metric has role validation")) << none.err;
}

// The example history: validation_history.py chose C (the north star),
// S (documents_shared = 3 C[w-1] + noise), I (invites) and R (revenue from
// C[w-2] / 2 invoices) per week and wrote them to validation_truth.json;
// the series must be exactly those, and the verdicts must find the lags
// built in: the north star leads revenue by 2 weeks, documents_shared by 1,
// weekly_active_users (campaign visitors) not at all.
TEST_F(ValidateCommandTest, ExampleHistoryFindsTheLeadsBuiltIn) {
  const std::filesystem::path json = dir_ / "result.json";
  const std::filesystem::path html = dir_ / "report.html";
  Output o = testing::RunNsmdCommand(
      absl::StrCat("validate --config ", Source("config/examples/validation.yaml"), " --input ",
                   Source("config/examples/validation-history.ndjson.gz"), " --json ",
                   json.string(), " --report ", html.string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string text = testing::ReadFile(json);
  simdjson::dom::element doc;
  ASSERT_FALSE(parser_.parse(text).get(doc)) << text;
  simdjson::dom::parser truth_parser;
  simdjson::dom::element truth;
  ASSERT_FALSE(truth_parser.load(Source("tests/app/testdata/validation_truth.json")).get(truth));
  auto truth_of = [&](const char* key) {
    std::vector<double> out;
    for (simdjson::dom::element v : truth[key].get_array()) out.push_back(v.get_double().value());
    return out;
  };
  EXPECT_EQ(doc["periods"].get_array().size(), 60u);
  EXPECT_EQ(Values(doc, "weekly_collaborating_teams"), truth_of("C"));
  EXPECT_EQ(Values(doc, "documents_shared"), truth_of("S"));
  EXPECT_EQ(Values(doc, "invites_accepted"), truth_of("I"));
  EXPECT_EQ(Values(doc, "revenue"), truth_of("R"));

  simdjson::dom::element nsm = Score(doc, "weekly_collaborating_teams");
  EXPECT_EQ(Str(nsm["verdict"]), "leads");
  EXPECT_EQ(nsm["best_lag"].get_int64().value(), 2);
  EXPECT_EQ(nsm["pairs"].get_int64().value(), 58);  // 60 weeks, 2 lost to the lag
  simdjson::dom::element shared = Score(doc, "documents_shared");
  EXPECT_EQ(Str(shared["verdict"]), "leads");
  EXPECT_EQ(shared["best_lag"].get_int64().value(), 1);
  EXPECT_EQ(Str(Score(doc, "weekly_active_users")["verdict"]), "does_not_lead");
  EXPECT_TRUE(absl::StrContains(o.out, "leads revenue by 2 weeks")) << o.out;
  EXPECT_TRUE(std::filesystem::file_size(html) > 0);
}

// The committed history is what the committed script writes (byte for
// byte: the gzip header carries no time), so the two cannot drift apart.
TEST_F(ValidateCommandTest, ExampleHistoryIsTheGeneratorsOutput) {
  const std::filesystem::path gz = dir_ / "history.ndjson.gz";
  const std::filesystem::path truth = dir_ / "truth.json";
  ASSERT_EQ(std::system(absl::StrCat("python3 ", Source("config/examples/validation_history.py"),
                                     " --truth ", truth.string(), " ", gz.string(), " > /dev/null")
                            .c_str()),
            0);
  EXPECT_TRUE(testing::ReadFile(gz) ==
              testing::ReadFile(Source("config/examples/validation-history.ndjson.gz")));
  EXPECT_EQ(testing::ReadFile(truth),
            testing::ReadFile(Source("tests/app/testdata/validation_truth.json")));
}

}  // namespace
}  // namespace nsmd
