// Exactly-once under SIGKILL: events stream into `nsmd broker` while nsmd is
// killed with SIGKILL at random moments and restarted on the same state dir.
// Some kills are crash points inside the checkpoint (NSMD_TEST_CRASH_POINT),
// so a mid-checkpoint crash is certain, not left to chance. It runs with
// dedup on and off (off: a double application cannot hide). At the end every
// nsm_metric_value series must equal what `nsmd replay` computes from the
// same events in one clean pass, and the late, duplicate and rejected counts
// (the replay's and the tasks' own) and two lifetime totals must equal counts
// this test makes itself from the events it sent.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_producer.h"
#include "daemon/source/saas_event_model.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace nsmd {
namespace {

using testing::HttpRequest;
using testing::PrometheusValue;
using testing::Subprocess;

constexpr char kTopic[] = "events";
// Two runs (dedup on and off) of kEvents events at kRate/s: about 40 s of
// streaming each.
constexpr int kEvents = 20000;
constexpr int64_t kRate = 500;

struct Message {
  std::string key;
  std::string payload;
  bool late = false;  // stamped 3 h before its neighbours
};

// The dedup setting a run uses: with dedup on, a state-ahead-of-offsets or
// seek-to-earliest bug would be absorbed silently (every event has a
// messageId); with it off, any double application shows in the totals.
struct CrashParam {
  const char* name;
  const char* dedup_horizon;  // events.dedup_horizon
  bool dedup;
};
void PrintTo(const CrashParam& p, std::ostream* os) { *os << "dedup_horizon " << p.dedup_horizon; }

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

class CrashRecoveryTest : public ::testing::TestWithParam<CrashParam> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("nsmd-crash-", getpid(), "-", absl::ToUnixMicros(absl::Now()));
    std::filesystem::create_directories(dir_);
    auto broker = Subprocess::Start(
        {testing::NsmdBinary(), "broker", "--topic", kTopic, "--partitions", "4"});
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    auto line = broker_->ReadLine(absl::Seconds(20));
    ASSERT_OK(line);
    bootstrap_ = *line;
    port_ = testing::FreePort();
    config_ = (dir_ / "nsmd.yaml").string();
    // clang-format off
    std::ofstream(config_) << absl::StrCat(R"(
kafka:
  brokers: )", bootstrap_, R"(
  topics: [events]
  group_id: crash-test
  properties:
    group.instance.id: crash-test-1
    # The mock broker keeps a SIGKILLed member until its session times out
    # and holds the next rebalance for it: short, so restarts are quick.
    session.timeout.ms: "3000"
    heartbeat.interval.ms: "500"
state:
  dir: )", (dir_ / "state").string(), R"(
  checkpoint_interval: 50ms
http:
  listen: 127.0.0.1:)", port_, R"(
time: {zone: UTC, week_start: monday, allowed_lateness: 1h}
events: {dedup_horizon: )", GetParam().dedup_horizon, R"(}
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
    // clang-format on
  }

  void TearDown() override {
    nsmd_.reset();
    broker_.reset();
    // What every run of nsmd said (assignments, restores, checkpoints).
    if (HasFailure()) std::cout << "nsmd's log:\n" << testing::ReadFile(dir_ / "nsmd.log");
    std::filesystem::remove_all(dir_);
  }

  // Starts `nsmd run` with its log appended to `log` and `env` added.
  void StartNsmd(const std::string& log, const std::vector<std::string>& env = {}) {
    auto nsmd = testing::StartNsmd(config_, log, {}, env);
    ASSERT_OK(nsmd);
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

// One kill of the schedule: SIGKILL from the test at a moment spread over
// the producer's run, or a crash point (daemon/app/crash_point.h) that makes
// nsmd SIGKILL itself at an exact place inside a checkpoint.
struct Kill {
  const char* crash_point;  // nullptr: SIGKILL from the test
};
constexpr Kill kSchedule[] = {{"checkpoint_before_write"}, {nullptr},
                              {"checkpoint_after_write"},  {nullptr},
                              {"after_kafka_commit"},      {nullptr}};
constexpr int kKills = sizeof(kSchedule) / sizeof(kSchedule[0]);
// The producer holds back the last messages until the last kill (see
// below); a crash point waits for checkpoints that write something, which
// could not come while it waits, so the last kill is the test's SIGKILL.
static_assert(kSchedule[kKills - 1].crash_point == nullptr);

TEST_P(CrashRecoveryTest, SigkillAtRandomMomentsLosesAndDoublesNothing) {
  const bool dedup = GetParam().dedup;
  // The event stream: realistic SaaS events 40 s apart (kEvents events span
  // about 9 days: two tumbling weeks, cohorts maturing); every 97th sent
  // twice (a redelivery); every 500th stamped 3 h older than its neighbours
  // (late: with allowed_lateness 1h its partition has delivered newer
  // events by far, in the daemon and in the replay alike); every 1000th
  // followed by a poison message. Late events are never the resent ones, so
  // a late event is counted once, as late, with or without dedup.
  SaasEventModel model(
      /*teams=*/60, /*seed=*/20261124,
      absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  std::vector<Message> messages;
  absl::Time t = absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  int duplicates = 0, poison = 0, late = 0;
  for (int i = 0; i < kEvents; ++i, t += absl::Seconds(40)) {
    const bool is_late = i % 500 == 499;
    SaasEventModel::GeneratedEvent e = model.Next(is_late ? t - absl::Hours(3) : t);
    messages.push_back({e.key, e.json, is_late});
    late += is_late;
    if (i % 97 == 0 && !is_late) {
      messages.push_back({e.key, e.json, false});
      ++duplicates;
    }
    if (i % 1000 == 999) {
      messages.push_back(
          {"poison", absl::StrCat("{\"event\":\"broken\",\"timestamp\":", i), false});
      ++poison;
    }
  }
  // Hand totals, by plain string search over the messages. Late events are
  // not applied. With dedup a resent message (same messageId) is skipped;
  // without it, every file_edited message counts, the resent ones too.
  int64_t edits = 0, applied = 0;
  absl::flat_hash_set<std::string> users, ids;
  for (const Message& m : messages) {
    if (absl::StartsWith(m.key, "poison") || m.late) continue;
    const bool first = ids.insert(JsonStringField(m.payload, "messageId")).second;
    if (dedup && !first) continue;
    ++applied;
    edits += JsonStringField(m.payload, "event") == "file_edited";
    users.insert(JsonStringField(m.payload, "userId"));
  }
  const int expected_duplicates = dedup ? duplicates : 0;
  // What the tasks' own counts, checkpointed with their state, must say
  // after every kill (testing::OwnedTaskCounts() form): a difference in the
  // totals above shows here as lost (applied), judged late, or skipped.
  std::map<std::string, double> expected_counts = {
      {R"(outcome="consumed")", static_cast<double>(messages.size())},
      {R"(outcome="applied")", static_cast<double>(applied)},
      {R"(outcome="late")", late},
      {R"(reason="invalid_json")", poison}};
  if (expected_duplicates > 0) expected_counts[R"(outcome="duplicate")"] = expected_duplicates;
  const std::string input = (dir_ / "events.ndjson").string();
  {
    std::ofstream out(input);
    for (const Message& m : messages) out << m.payload << '\n';
  }

  // A producer thread streams the messages at about kRate/s for most of the
  // test, so kills land while nsmd is consuming and checkpointing (every
  // 50 ms). The last quarter slice (see the kills below) waits until every
  // kill is done: however slowly nsmd restarts (ASan), no kill falls after
  // the stream has ended.
  const size_t slice = messages.size() / (kKills + 1);
  const size_t hold_at = messages.size() - slice / 4;
  std::atomic<size_t> produced{0};
  std::atomic<bool> kills_done{false};
  std::thread producer_thread([&] {
    auto producer = KafkaProducer::Create(bootstrap_, {});
    ASSERT_OK(producer);
    const absl::Time start = absl::Now();
    for (size_t i = 0; i < messages.size(); ++i) {
      while (i == hold_at && !kills_done) absl::SleepFor(absl::Milliseconds(10));
      ASSERT_OK((*producer)->Produce(kTopic, messages[i].key, messages[i].payload));
      produced = i + 1;
      if (i % 40 == 39) {
        absl::SleepFor(start + absl::Microseconds(static_cast<int64_t>(i) * 1000000 / kRate) -
                       absl::Now());
      }
    }
    ASSERT_OK((*producer)->Flush(absl::Seconds(30)));
  });
  // However the test ends (a failed ASSERT too), the producer is released
  // and joined.
  absl::Cleanup join_producer = [&] {
    kills_done = true;
    if (producer_thread.joinable()) producer_thread.join();
  };

  // NSMD_TEST_SEED=<seed> replays a schedule printed by an earlier run.
  unsigned seed = std::random_device()();
  if (const char* env = std::getenv("NSMD_TEST_SEED"); env != nullptr) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << "NSMD_TEST_SEED=" << env << " is not a number";
  }
  std::cout << "kill schedule seed " << seed << " (replay it: NSMD_TEST_SEED=" << seed << ")\n";
  std::mt19937 rng(seed);
  const std::string log = (dir_ / "nsmd.log").string();
  int kills = 0;
  size_t produced_at_last_kill = 0;
  for (int k = 0; k < kKills; ++k) {
    const char* point = kSchedule[k].crash_point;
    if (point != nullptr) {
      // nsmd kills itself at the n-th checkpoint that writes something
      // (at least n x 50 ms of consuming).
      const int n = std::uniform_int_distribution<int>(3, 15)(rng);
      StartNsmd(log, {absl::StrCat("NSMD_TEST_CRASH_POINT=", point, ":", n)});
    } else {
      StartNsmd(log);
      // SIGKILL kill j of the schedule lands at a random moment of the j-th
      // of kKills + 1 equal slices of the producer's run (so kills cover it
      // from start to end), once this process is consuming, plus 0-700 ms
      // (within batches, between them, inside checkpoints). The latest
      // target, half a slice before the end, comes before hold_at (a
      // quarter slice before it).
      const size_t target = slice * static_cast<size_t>(k + 1) +
                            std::uniform_int_distribution<size_t>(0, slice / 2)(rng);
      const absl::Time deadline = absl::Now() + absl::Seconds(60);
      while (absl::Now() < deadline && (produced < target || Consumed() <= 0)) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      ASSERT_GT(Consumed(), 0) << "nsmd did not start consuming";
      absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 700)(rng)));
      nsmd_->Signal(SIGKILL);
    }
    auto status = nsmd_->Wait(absl::Seconds(60));
    ASSERT_OK(status) << (point ? point : "SIGKILL") << ": " << status.status();
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << "kill " << k << " (" << (point ? point : "SIGKILL") << "): status " << *status;
    produced_at_last_kill = produced;
    nsmd_.reset();
    ++kills;
  }
  // Every kill fell while events were still streaming in.
  EXPECT_LT(produced_at_last_kill, messages.size());
  kills_done = true;
  // Each crash point was reached (nsmd logs it just before SIGKILL).
  const std::string log_text = testing::ReadFile(log);
  int crash_points = 0;
  for (const Kill& kill : kSchedule) {
    if (kill.crash_point == nullptr) continue;
    ++crash_points;
    EXPECT_TRUE(absl::StrContains(
        log_text, absl::StrCat("crash point ", kill.crash_point, " reached; SIGKILL")))
        << kill.crash_point;
  }
  producer_thread.join();
  ASSERT_EQ(produced.load(), messages.size());

  StartNsmd(log);
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline && CheckpointedTotal() != static_cast<int64_t>(messages.size())) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(CheckpointedTotal(), static_cast<int64_t>(messages.size()));
  const std::string replay_err = (dir_ / "replay.err").string();
  const std::string replayed = ReadCommand(absl::StrCat(
      testing::NsmdBinary(), " replay --config ", config_, " --input ", input, " 2>", replay_err));
  const std::vector<std::string> expected = LinesStartingWith(replayed, "nsm_metric_value{");
  ASSERT_FALSE(expected.empty());
  // The snapshot is published at least every 200 ms: wait until one taken
  // after the last event shows the replay's numbers (a wrong number never
  // does, and fails below with the difference).
  absl::StatusOr<testing::HttpResponse> scrape;
  std::vector<std::string> live;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until;
       absl::SleepFor(absl::Milliseconds(50))) {
    scrape = HttpRequest(port_, "GET", "/metrics");
    ASSERT_OK(scrape);
    live = LinesStartingWith(scrape->body, "nsm_metric_value{");
    if (live == expected) break;
  }
  EXPECT_EQ(live, expected);
  EXPECT_EQ(testing::OwnedTaskCounts(scrape->body), expected_counts);

  auto live_edits =
      PrometheusValue(scrape->body, R"(nsm_metric_value{metric="edits_total",window="current"})");
  auto live_users =
      PrometheusValue(scrape->body, R"(nsm_metric_value{metric="users_total",window="current"})");
  ASSERT_TRUE(live_edits.ok() && live_users.ok());
  EXPECT_EQ(*live_edits, static_cast<double>(edits));
  EXPECT_EQ(*live_users, static_cast<double>(users.size()));

  const std::string counts = testing::ReadFile(replay_err);
  EXPECT_TRUE(absl::StrContains(counts, absl::StrCat("duplicate ", expected_duplicates, "\n")))
      << counts;
  EXPECT_TRUE(absl::StrContains(counts, absl::StrCat("rejected ", poison, "\n"))) << counts;
  EXPECT_TRUE(absl::StrContains(counts, absl::StrCat("late ", late, "\n"))) << counts;
  std::cout << "dedup " << (dedup ? "on" : "off") << ": events " << kEvents << ", messages "
            << messages.size() << ", kills " << kills << " (" << crash_points
            << " at crash points), duplicates sent " << duplicates << " (counted "
            << expected_duplicates << "), late " << late << ", rejected " << poison << ", edits "
            << edits << ", users " << users.size() << ", series compared " << live.size()
            << (live == expected ? " (all equal)" : " (DIFFER)") << "\n";

  const absl::Status stopped = testing::StopGracefully(*nsmd_, absl::Seconds(10));
  EXPECT_OK(stopped);
}

INSTANTIATE_TEST_SUITE_P(Dedup, CrashRecoveryTest,
                         ::testing::Values(CrashParam{"On", "24h", true},
                                           CrashParam{"Off", "0", false}),
                         [](const ::testing::TestParamInfo<CrashParam>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace nsmd
