// Exactly-once under SIGKILL: events stream into `nsmd broker` while nsmd is
// killed with SIGKILL at random moments and restarted on the same state dir.
// At the end every nsm_metric_value series must equal what `nsmd replay`
// computes from the same events in one clean pass, and two lifetime totals
// must equal counts this test makes itself from the events it sent.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "daemon/source/saas_event_model.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using testing::HttpRequest;
using testing::PrometheusValue;
using testing::Subprocess;

constexpr char kTopic[] = "events";
constexpr int kEvents = 24000;
constexpr int kKills = 6;

struct Message {
  std::string key;
  std::string payload;
};

// The test's own reading of a generated event: a plain substring search, a
// second computation independent of nsmd's decoder.
std::string JsonStringField(const std::string& json, const std::string& name) {
  const std::string needle = absl::StrCat("\"", name, "\":\"");
  size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return json.substr(at, json.find('"', at) - at);
}

// Lines of Prometheus text starting with `prefix`, sorted.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) out.emplace_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

class CrashRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("nsmd-crash-", getpid(), "-", absl::ToUnixMicros(absl::Now()));
    std::filesystem::create_directories(dir_);
    auto broker = Subprocess::Start(
        {testing::NsmdBinary(), "broker", "--topic", kTopic, "--partitions", "4"});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto line = broker_->ReadLine(absl::Seconds(20));
    ASSERT_TRUE(line.ok()) << line.status();
    bootstrap_ = *line;
    port_ = testing::FreePort();
    config_ = (dir_ / "nsmd.yaml").string();
    std::ofstream(config_) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: crash-test
  properties:
    group.instance.id: crash-test-1
    session.timeout.ms: "6000"
state:
  dir: )", (dir_ / "state").string(), R"(
  checkpoint_interval: 50ms
http:
  listen: 127.0.0.1:)", port_, R"(
time: {zone: UTC, week_start: monday, allowed_lateness: 1h}
events: {dedup_horizon: 24h}
metrics:
  - name: collaborating_teams
    role: north_star
    filter: {event: [file_edited, comment_added]}
    measure: {entities: context.groupId, having: "distinct(userId) > 3"}
    window: {cohort: {anchor: {event: team_created}, entity: context.groupId, length: 7d, period: week}}
  - name: weekly_active_users
    filter: {event: [file_edited, comment_added]}
    measure: {distinct: userId}
    window: {tumbling: week}
  - name: active_users_3d
    filter: {event: [file_edited, comment_added]}
    measure: {distinct: userId}
    window: {rolling: 3d}
  - name: daily_reading_ms
    filter: {event: page_viewed}
    measure: {sum: properties.duration_ms}
    window: {tumbling: day}
  - name: edits_total
    filter: {event: file_edited}
    measure: events
    window: lifetime
  - name: users_total
    measure: {distinct: userId}
    window: lifetime
)");
  }

  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNsmd() {
    auto nsmd = Subprocess::Start({testing::NsmdBinary(), "run", "--config", config_});
    ASSERT_TRUE(nsmd.ok()) << nsmd.status();
    nsmd_ = std::move(*nsmd);
  }

  // nsmd_events_consumed_total of the running process, or -1.
  double Consumed() {
    auto r = HttpRequest(port_, "GET", "/metrics");
    if (!r.ok() || r->status != 200) return -1;
    auto v = PrometheusValue(r->body, "nsmd_events_consumed_total");
    return v.ok() ? *v : -1;
  }

  // Sum of the checkpointed offsets of the assigned partitions, or -1.
  int64_t CheckpointedTotal() {
    auto r = HttpRequest(port_, "GET", "/api/v1/status");
    if (!r.ok() || r->status != 200) return -1;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r->body).get(doc)) return -1;
    simdjson::dom::array assignment;
    if (doc["assignment"].get_array().get(assignment)) return -1;
    int64_t total = 0;
    for (simdjson::dom::element p : assignment) {
      int64_t offset;
      if (p["checkpointed_offset"].get_int64().get(offset)) continue;
      total += offset;
    }
    return total;
  }

  std::filesystem::path dir_;
  std::string bootstrap_;
  std::string config_;
  int port_ = 0;
  std::unique_ptr<Subprocess> broker_;
  std::unique_ptr<Subprocess> nsmd_;
};

TEST_F(CrashRecoveryTest, SigkillAtRandomMomentsLosesAndDoublesNothing) {
  // The event stream: realistic SaaS events 40 s apart (24,000 events span
  // 11 days: two tumbling weeks, cohorts maturing), every 97th sent twice
  // (a redelivery), every 1000th followed by a poison message.
  SaasEventModel model(/*teams=*/60, /*seed=*/20261124,
                       absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  std::vector<Message> messages;
  absl::Time t = absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  int duplicates = 0, poison = 0;
  for (int i = 0; i < kEvents; ++i, t += absl::Seconds(40)) {
    SaasEventModel::GeneratedEvent e = model.Next(t);
    messages.push_back({e.key, e.json});
    if (i % 97 == 0) {
      messages.push_back({e.key, e.json});
      ++duplicates;
    }
    if (i % 1000 == 999) {
      messages.push_back({"poison", absl::StrCat("{\"event\":\"broken\",\"timestamp\":", i)});
      ++poison;
    }
  }
  // Hand totals, by plain string search over the unique events.
  int64_t edits = 0;
  absl::flat_hash_set<std::string> users, ids;
  for (const Message& m : messages) {
    if (absl::StartsWith(m.key, "poison")) continue;
    if (!ids.insert(JsonStringField(m.payload, "messageId")).second) continue;
    edits += JsonStringField(m.payload, "event") == "file_edited";
    users.insert(JsonStringField(m.payload, "userId"));
  }
  const std::string input = (dir_ / "events.ndjson").string();
  {
    std::ofstream out(input);
    for (const Message& m : messages) out << m.payload << '\n';
  }

  // A producer thread streams the messages at about 400/s for the whole
  // test, so kills land while nsmd is consuming and checkpointing (every
  // 50 ms).
  std::atomic<size_t> produced{0};
  std::thread producer_thread([&] {
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    const absl::Time start = absl::Now();
    for (size_t i = 0; i < messages.size(); ++i) {
      ASSERT_TRUE((*producer)->Produce(kTopic, messages[i].key, messages[i].payload).ok());
      produced = i + 1;
      if (i % 40 == 39) {
        absl::SleepFor(start + absl::Milliseconds(static_cast<int64_t>(i) * 5 / 2) - absl::Now());
      }
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  });

  std::random_device rd;
  const unsigned seed = rd();
  std::cout << "kill schedule seed " << seed << "\n";
  std::mt19937 rng(seed);
  int kills = 0;
  for (int k = 0; k < kKills; ++k) {
    StartNsmd();
    // Wait until this process is consuming, then kill it a random moment
    // later (0-700 ms: within batches, between them, inside checkpoints).
    const double before = -1;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    double consumed = before;
    while (absl::Now() < deadline && (consumed = Consumed()) <= 0) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_GT(consumed, 0) << "nsmd did not start consuming";
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 700)(rng)));
    nsmd_->Signal(SIGKILL);
    auto status = nsmd_->Wait(absl::Seconds(10));
    ASSERT_TRUE(status.ok());
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
    nsmd_.reset();
    ++kills;
  }
  producer_thread.join();
  ASSERT_EQ(produced.load(), messages.size());

  StartNsmd();
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline &&
         CheckpointedTotal() != static_cast<int64_t>(messages.size())) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(CheckpointedTotal(), static_cast<int64_t>(messages.size()));
  // The snapshot is published at least every 200 ms; wait for one taken
  // after the last checkpoint.
  absl::SleepFor(absl::Milliseconds(500));
  auto scrape = HttpRequest(port_, "GET", "/metrics");
  ASSERT_TRUE(scrape.ok());
  const std::vector<std::string> live = LinesStartingWith(scrape->body, "nsm_metric_value{");

  const std::string replay_err = (dir_ / "replay.err").string();
  const std::string replayed = ReadCommand(absl::StrCat(testing::NsmdBinary(), " replay --config ",
                                                        config_, " --input ", input, " 2>",
                                                        replay_err));
  const std::vector<std::string> expected = LinesStartingWith(replayed, "nsm_metric_value{");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(live, expected);

  auto live_edits =
      PrometheusValue(scrape->body, R"(nsm_metric_value{metric="edits_total",window="current"})");
  auto live_users =
      PrometheusValue(scrape->body, R"(nsm_metric_value{metric="users_total",window="current"})");
  ASSERT_TRUE(live_edits.ok() && live_users.ok());
  EXPECT_EQ(*live_edits, static_cast<double>(edits));
  EXPECT_EQ(*live_users, static_cast<double>(users.size()));

  std::ifstream err(replay_err);
  std::stringstream counts;
  counts << err.rdbuf();
  EXPECT_TRUE(absl::StrContains(counts.str(), absl::StrCat("duplicate ", duplicates, "\n")))
      << counts.str();
  EXPECT_TRUE(absl::StrContains(counts.str(), absl::StrCat("rejected ", poison, "\n")))
      << counts.str();
  std::cout << "events " << kEvents << ", messages " << messages.size() << ", kills " << kills
            << ", duplicates " << duplicates << ", rejected " << poison << ", edits " << edits
            << ", users " << users.size() << ", series compared " << live.size() << "\n";

  nsmd_->Signal(SIGTERM);
  auto status = nsmd_->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace nsmd
