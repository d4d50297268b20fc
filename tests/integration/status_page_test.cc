// The status page on GET /, as a browser shows it: nsmd runs over a fixed
// set of events whose values are known, headless Chromium loads the page
// and runs its script, and the numbers it shows must be /metrics' numbers.
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

std::string Edit(const std::string& user, const std::string& time) {
  return absl::StrCat(R"({"event":"file_edited","userId":")", user, R"(","timestamp":")", time,
                      R"("})");
}

// Runs headless Chromium on `url` with `args` (its stderr goes to
// `log`); returns what it printed on stdout.
absl::StatusOr<std::string> RunChromium(const std::vector<std::string>& args,
                                        const std::filesystem::path& profile,
                                        const std::string& url, const std::string& log) {
  // exec keeps the pid, so the child still dies with the test.
  std::vector<std::string> argv = {"/bin/sh", "-c", absl::StrCat("exec chromium \"$@\" 2>>", log),
                                   "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                   // Containers often have a 64 MiB /dev/shm.
                                   "--disable-dev-shm-usage",
                                   // Its own profile: tests run in parallel.
                                   absl::StrCat("--user-data-dir=", profile.string())};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  auto chromium = testing::Subprocess::Start(argv);
  if (!chromium.ok()) return chromium.status();
  std::string out;
  while (true) {
    auto line = (*chromium)->ReadLine(absl::Seconds(60));
    if (!line.ok()) break;
    absl::StrAppend(&out, *line, "\n");
  }
  auto status = (*chromium)->Wait(absl::Seconds(30));
  if (!status.ok()) return status.status();
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(
        absl::StrCat("chromium failed (wait status ", *status, "): ", testing::ReadFile(log)));
  }
  return out;
}

// The text of the element whose start tag holds `marker`: from the end of
// that tag (the first '>' from the marker's last character on) to the next
// '<'; "" if `marker` is not in `dom`.
std::string TextAfter(const std::string& dom, const std::string& marker) {
  const size_t at = dom.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = dom.find('>', at + marker.size() - 1);
  if (start == std::string::npos) return "";
  return dom.substr(start + 1, dom.find('<', start) - start - 1);
}

// The value of the attribute `name="` that follows `marker` in `dom`.
std::string AttributeAfter(const std::string& dom, const std::string& marker,
                           const std::string& name) {
  const size_t at = dom.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = dom.find(name + "=\"", at);
  if (start == std::string::npos) return "";
  const size_t value = start + name.size() + 2;
  return dom.substr(value, dom.find('"', value) - value);
}

TEST(StatusPageInBrowserTest, ChromiumShowsTheNorthStarValueOfMetricsAndRefreshes) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-status-page");
  std::string bootstrap;
  auto broker = testing::StartBroker("events", 1, &bootstrap);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const int port = testing::FreePort();
  const std::string config = testing::WriteRunConfig(dir, bootstrap, "status-page", port, "", R"(
  - name: daily_editors
    role: north_star
    description: People who edited a file that day
    customer_value: Teams keep their documents current
    decision_question: Who stopped editing <and why>?
    inputs: [edits]
    filter: {event: file_edited}
    measure: {distinct: userId}
    window: {tumbling: day}
  - name: edits
    filter: {event: file_edited}
    measure: events
    window: {tumbling: day}
)");
  auto nsmd = testing::StartNsmd(config, (dir / "nsmd.log").string());
  ASSERT_TRUE(nsmd.ok()) << nsmd.status();
  auto producer = KafkaProducer::Create(bootstrap, {});
  ASSERT_TRUE(producer.ok()) << producer.status();
  // 1 January: u1 (twice), u2, u3, u4 -> 4 editors, 5 edits. 2 January (the
  // current day, by stream time): u1, u2, u5 -> 3 editors, 3 edits.
  for (const auto& [user, time] :
       std::vector<std::pair<std::string, std::string>>{{"u1", "2024-01-01T09:00:00Z"},
                                                        {"u1", "2024-01-01T09:30:00Z"},
                                                        {"u2", "2024-01-01T10:00:00Z"},
                                                        {"u3", "2024-01-01T11:00:00Z"},
                                                        {"u4", "2024-01-01T12:00:00Z"},
                                                        {"u1", "2024-01-02T09:00:00Z"},
                                                        {"u2", "2024-01-02T10:00:00Z"},
                                                        {"u5", "2024-01-02T11:00:00Z"}}) {
    ASSERT_TRUE((*producer)->Produce("events", user, Edit(user, time)).ok());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  const std::string current = R"(nsm_metric_value{metric="daily_editors",window="current"})";
  ASSERT_TRUE(testing::AwaitMetrics(
                  port, {{current, 3},
                         {R"(nsm_metric_value{metric="daily_editors",window="previous"})", 4},
                         {R"(nsm_metric_value{metric="edits",window="current"})", 3},
                         {"nsmd_ready", 1}})
                  .ok());
  auto metrics = testing::HttpRequest(port, "GET", "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto on_metrics = testing::PrometheusValue(metrics->body, current);
  ASSERT_TRUE(on_metrics.ok()) << on_metrics.status();

  // 11 s of the page's virtual time: its script refetches the page twice
  // (every 5 s) and swaps the new values in before the DOM is dumped.
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/");
  const std::string log = (dir / "chromium.log").string();
  auto dom = RunChromium({"--virtual-time-budget=11000", "--dump-dom"}, dir / "profile", url, log);
  ASSERT_TRUE(dom.ok()) << dom.status();
  int refreshes = 0;
  EXPECT_TRUE(absl::SimpleAtoi(AttributeAfter(*dom, "<body", "data-refreshes"), &refreshes));
  EXPECT_GE(refreshes, 1) << *dom;

  double shown = -1;
  ASSERT_TRUE(
      absl::SimpleAtod(AttributeAfter(*dom, R"(id="north-star-value")", "data-value"), &shown))
      << *dom;
  EXPECT_EQ(shown, *on_metrics);
  EXPECT_EQ(TextAfter(*dom, R"(id="north-star-value")"), "3") << *dom;
  EXPECT_EQ(TextAfter(*dom, R"(class="previous">)"), "4") << *dom;
  // (3 - 4) / 4
  EXPECT_EQ(TextAfter(*dom, R"(class="change down">)"), "-25.0 %") << *dom;
  EXPECT_TRUE(absl::StrContains(*dom, "Who stopped editing &lt;and why&gt;?")) << *dom;
  EXPECT_TRUE(absl::StrContains(*dom, "Teams keep their documents current")) << *dom;
  // The north star comes first, its input in the tree beneath it, then
  // health.
  const size_t north_star = dom->find(R"(data-metric="daily_editors")");
  const size_t tree = dom->find(R"(<ul class="tree"><li><div data-metric="edits")");
  const size_t health = dom->find(R"(id="health")");
  ASSERT_NE(north_star, std::string::npos) << *dom;
  ASSERT_NE(tree, std::string::npos) << *dom;
  ASSERT_NE(health, std::string::npos) << *dom;
  EXPECT_LT(north_star, tree);
  EXPECT_LT(tree, health);
  EXPECT_EQ(TextAfter(*dom, R"(id="ready"><span)"), "yes") << *dom;
  EXPECT_EQ(TextAfter(*dom, R"(id="rejected">)"), "0") << *dom;
  EXPECT_EQ(TextAfter(*dom, R"(id="lag">)"), "0 messages") << *dom;
  EXPECT_EQ(TextAfter(*dom, R"(id="stream-time">)"), "2024-01-02 11:00:00 UTC ") << *dom;
  EXPECT_FALSE(absl::StrContains(*dom, "src=\"http")) << "external asset in " << *dom;

  // A screenshot for people, next to the nsmd binary in the build folder.
  const std::filesystem::path png =
      std::filesystem::path(testing::NsmdBinary()).parent_path() / "status_page.png";
  std::filesystem::remove(png);
  ASSERT_TRUE(RunChromium({"--hide-scrollbars", "--window-size=1100,1400",
                           absl::StrCat("--screenshot=", png.string())},
                          dir / "profile", url, log)
                  .ok());
  EXPECT_TRUE(absl::StartsWith(testing::ReadFile(png), "\x89PNG\r\n")) << png;

  EXPECT_TRUE(testing::StopGracefully(**nsmd, absl::Seconds(10)).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nsmd
