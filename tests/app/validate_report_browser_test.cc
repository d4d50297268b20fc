// The HTML report of `nsmd validate` opened in a real browser (headless
// Chromium): its DOM must hold the charts and the figures, and a screenshot
// is kept under the build folder (validate-report/screenshot.png) for a
// human to look at.
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"

namespace nsmd {
namespace {

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ValidateReportBrowserTest, ChromiumShowsChartsAndFigures) {
  const std::filesystem::path out = std::filesystem::path(NSMD_BUILD_DIR) / "validate-report";
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  const std::filesystem::path html = out / "report.html";
  testing::CommandOutput o = testing::RunNsmdCommand(absl::StrCat(
      "validate --config ", NSMD_SOURCE_DIR, "/config/examples/validation.yaml --input ",
      NSMD_SOURCE_DIR, "/config/examples/validation-history.ndjson.gz --report ", html.string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;

  const std::string chromium = absl::StrCat(
      "chromium --headless --no-sandbox --disable-gpu --user-data-dir=", (out / "profile").string(),
      " ");
  testing::CommandOutput dump =
      testing::RunShellCommand(absl::StrCat(chromium, "--dump-dom file://", html.string()));
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::string& dom = dump.out;
  // One chart per series (6 metrics) and one lag profile per scored metric
  // (the north star and 2 candidates), each with a line drawn.
  EXPECT_EQ(Count(dom, "<svg class=\"series-chart\""), 6) << dom;
  EXPECT_EQ(Count(dom, "<svg class=\"lag-chart\""), 3);
  EXPECT_GE(Count(dom, "<polyline"), 9);
  EXPECT_EQ(Count(dom, "class=\"threshold\""), 3);
  // The verdicts the history was built for, and each metric's meaning.
  EXPECT_TRUE(absl::StrContains(dom, "leads revenue by 2 weeks")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "leads revenue by 1 week "));
  EXPECT_TRUE(absl::StrContains(dom, "does not lead revenue"));
  EXPECT_TRUE(absl::StrContains(
      dom, "If this improves, more teams get their work done together in the product"));
  EXPECT_TRUE(absl::StrContains(dom, "Which teams stopped collaborating this week"));
  EXPECT_TRUE(absl::StrContains(dom, "60 complete weeks from 2025-01-06 to 2026-03-02"));
  // Nothing is loaded from elsewhere.
  EXPECT_FALSE(absl::StrContains(dom, "<script"));
  EXPECT_FALSE(absl::StrContains(dom, "src="));
  EXPECT_FALSE(absl::StrContains(dom, "<link"));

  const std::filesystem::path png = out / "screenshot.png";
  testing::CommandOutput shot = testing::RunShellCommand(absl::StrCat(
      chromium, "--window-size=1000,2400 --screenshot=", png.string(), " file://", html.string()));
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 50000u);  // a blank page that size: 12 KB
  std::filesystem::remove_all(out / "profile");
}

}  // namespace
}  // namespace nsmd
