#include "daemon/engine/engine.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/test_events.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

// 2024-01-01T00:00Z, a Monday.
const int64_t kMon = UtcMs(2024, 1, 1);
constexpr int64_t kHour = 3600000;
constexpr int64_t kDay = 24 * kHour;

// Applies a delta to a map standing in for the store, as StateStore::Commit
// does: prefix deletions first, then the entries.
void CommitTo(const StateDelta& delta, std::map<std::string, std::string>* store) {
  for (const std::string& prefix : delta.prefix_deletions()) {
    for (auto it = store->lower_bound(prefix);
         it != store->end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      it = store->erase(it);
    }
  }
  for (const auto& [k, v] : delta.entries()) {
    if (v)
      (*store)[k] = *v;
    else
      store->erase(k);
  }
}

class EngineTest : public ::testing::Test {
 protected:
  FieldId F(const std::string& path) { return ev_.catalog().Intern(path); }

  MetricDefinition Metric(std::string name, std::vector<std::string> events, MeasureSpec measure,
                          WindowSpec window) {
    MetricDefinition m;
    m.name = std::move(name);
    for (auto& e : events) m.filter.AddName(e);
    m.measure = measure;
    m.window = window;
    m.fingerprint = "f";
    return m;
  }
  static WindowSpec Tumbling(CalendarUnit unit) {
    WindowSpec w;
    w.kind = WindowKind::kTumbling;
    w.unit = unit;
    return w;
  }
  // The saas cohort: a team's first 7 days from its team_created, by the
  // week it was created in.
  WindowSpec TeamWeekCohort() {
    WindowSpec w;
    w.kind = WindowKind::kCohort;
    w.anchor.AddName("team_created");
    w.cohort_entity = F("context.groupId");
    w.length = absl::Hours(24 * 7);
    w.period = CalendarUnit::kWeek;
    return w;
  }
  MeasureSpec Distinct(const std::string& path) {
    MeasureSpec m;
    m.kind = MeasureKind::kDistinct;
    m.field = F(path);
    return m;
  }
  MeasureSpec Entities(const std::string& entity, EntityAggregate agg, const std::string& field,
                       Comparison cmp, double threshold) {
    MeasureSpec m;
    m.kind = MeasureKind::kEntities;
    m.entity = F(entity);
    m.aggregate = agg;
    if (!field.empty()) m.aggregate_field = F(field);
    m.comparison = cmp;
    m.threshold = threshold;
    return m;
  }

  void Build(std::vector<MetricDefinition> metrics) {
    auto engine = Engine::Create(std::move(metrics), options_);
    ASSERT_OK(engine);
    engine_ = std::move(*engine);
    source_ = engine_->RegisterSource("t/0");
  }

  Engine::Outcome Apply(const Event& e) { return engine_->Apply(e, source_); }

  // Checkpoints the engine into *store (as StateStore::Commit would) and
  // restarts: a new engine of `metrics` restored from every row of *store.
  void CheckpointAndRestart(std::vector<MetricDefinition> metrics,
                            std::map<std::string, std::string>* store) {
    StateDelta delta;
    engine_->TakeDelta(&delta);
    CommitTo(delta, store);
    Build(std::move(metrics));
    for (const auto& [k, v] : *store) ASSERT_OK(engine_->Restore(k, v)) << k;
    engine_->FinishRestore();
  }

  // The value of metric/window (no labels), or nullopt if absent.
  std::optional<double> Value(const std::string& metric, const std::string& window,
                              const Labels& labels = {}) {
    for (const SeriesSample& s : engine_->Snapshot().samples) {
      if (s.metric == metric && s.window == window && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }

  TestEvents ev_;
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
  int source_ = 0;
};

TEST_F(EngineTest, EventsPerDayCurrentAndPrevious) {
  MeasureSpec events;
  Build({Metric("edits", {"file_edited"}, events, Tumbling(CalendarUnit::kDay))});
  // Day 1: 2 edits and one page view (filtered out); day 2: 3 edits.
  Apply(ev_.Make("file_edited", kMon + 1 * kHour));
  Apply(ev_.Make("page_viewed", kMon + 2 * kHour));
  Apply(ev_.Make("file_edited", kMon + 3 * kHour));
  for (int i = 0; i < 3; ++i) Apply(ev_.Make("file_edited", kMon + kDay + (i + 1) * kHour));
  EXPECT_EQ(Value("edits", "current"), 3);
  EXPECT_EQ(Value("edits", "previous"), 2);
}

TEST_F(EngineTest, EachEventReachesTheMetricsNamingItAndThoseNamingNone) {
  MeasureSpec events;
  const WindowSpec day = Tumbling(CalendarUnit::kDay);
  Build({Metric("edits", {"file_edited"}, events, day), Metric("everything", {}, events, day),
         Metric("reads", {"page_viewed"}, events, day)});
  // signed_up is named by no filter: only "everything" counts it.
  Apply(ev_.Make("file_edited", kMon + 1 * kHour));
  Apply(ev_.Make("page_viewed", kMon + 2 * kHour));
  Apply(ev_.Make("signed_up", kMon + 3 * kHour));
  Apply(ev_.Make("file_edited", kMon + 4 * kHour));
  EXPECT_EQ(Value("edits", "current"), 2);
  EXPECT_EQ(Value("everything", "current"), 4);
  EXPECT_EQ(Value("reads", "current"), 1);
}

TEST_F(EngineTest, DistinctUsersPerWeek) {
  Build({Metric("wau", {"file_edited", "comment_added"}, Distinct("userId"),
                Tumbling(CalendarUnit::kWeek))});
  // u1 twice, u2 once in week 1 -> 2. Sunday 23:59 is still week 1.
  Apply(ev_.Make("file_edited", kMon + kHour, {{"userId", "u1"}}));
  Apply(ev_.Make("comment_added", kMon + 2 * kHour, {{"userId", "u1"}}));
  Apply(ev_.Make("file_edited", kMon + 7 * kDay - 60000, {{"userId", "u2"}}));
  // An event with no userId contributes nothing.
  Apply(ev_.Make("file_edited", kMon + 7 * kDay - 30000));
  EXPECT_EQ(Value("wau", "current"), 2);
  // Monday of week 2: u3 -> current 1, previous 2.
  Apply(ev_.Make("file_edited", kMon + 7 * kDay, {{"userId", "u3"}}));
  EXPECT_EQ(Value("wau", "current"), 1);
  EXPECT_EQ(Value("wau", "previous"), 2);
}

TEST_F(EngineTest, TeamsWithMoreThanThreeActiveUsers) {
  Build(
      {Metric("active_teams", {"file_edited"},
              Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 3),
              Tumbling(CalendarUnit::kWeek))});
  // team a: users 1..4 (4 > 3: counts); u1 twice does not matter.
  // team b: users 1..3 (3 is not > 3), plus u1 again.
  int64_t t = kMon;
  for (std::string u : {"1", "2", "3", "4", "1"}) {
    Apply(ev_.Make("file_edited", t += 60000, {{"context.groupId", "a"}, {"userId", u}}));
  }
  for (std::string u : {"1", "2", "3", "1"}) {
    Apply(ev_.Make("file_edited", t += 60000, {{"context.groupId", "b"}, {"userId", u}}));
  }
  EXPECT_EQ(Value("active_teams", "current"), 1);
  // A fourth user in b makes it count too.
  Apply(ev_.Make("file_edited", t += 60000, {{"context.groupId", "b"}, {"userId", "9"}}));
  EXPECT_EQ(Value("active_teams", "current"), 2);
}

TEST_F(EngineTest, MembersOfDifferentEntitiesStayApartAcrossARestart) {
  auto defs = [this] {
    return std::vector<MetricDefinition>{Metric(
        "pairs", {},
        Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGte, 2),
        Tumbling(CalendarUnit::kWeek))};
  };
  Build(defs());
  auto edit = [this](const std::string& team, const std::string& user, int minute) {
    Apply(ev_.Make("x", kMon + minute * 60000, {{"context.groupId", team}, {"userId", user}}));
  };
  // Team a: users b and a (2: counts); team b: user a (1), although "b"
  // with "a" is "a" with "b" mirrored.
  edit("a", "b", 1);
  edit("b", "a", 2);
  edit("a", "a", 3);
  edit("a", "b", 4);  // known
  EXPECT_EQ(Value("pairs", "current"), 1);
  std::map<std::string, std::string> store;
  CheckpointAndRestart(defs(), &store);
  EXPECT_EQ(Value("pairs", "current"), 1);
  edit("b", "a", 5);  // still known after the restart
  EXPECT_EQ(Value("pairs", "current"), 1);
  edit("b", "b", 6);  // team b's second user
  EXPECT_EQ(Value("pairs", "current"), 2);
}

TEST_F(EngineTest, EntitiesByCountAndSum) {
  // Teams with at least 3 projects (lifetime); customers with revenue > 100.
  WindowSpec lifetime;
  lifetime.kind = WindowKind::kLifetime;
  Build(
      {Metric("builders", {"project_created"},
              Entities("context.groupId", EntityAggregate::kCount, "", Comparison::kGte, 3),
              lifetime),
       Metric("big_spenders", {"order"},
              Entities("userId", EntityAggregate::kSum, "properties.revenue", Comparison::kGt, 100),
              lifetime)});
  int64_t t = kMon;
  for (int i = 0; i < 3; ++i)
    Apply(ev_.Make("project_created", t += 1000, {{"context.groupId", "a"}}));
  for (int i = 0; i < 2; ++i)
    Apply(ev_.Make("project_created", t += 1000, {{"context.groupId", "b"}}));
  // u1: 60 + 50 = 110 > 100; u2: 100 is not > 100; u3: "x" is not a number.
  Apply(ev_.Make("order", t += 1000, {{"userId", "u1"}}, {{"properties.revenue", 60}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u1"}}, {{"properties.revenue", 50}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u2"}}, {{"properties.revenue", 100}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u3"}, {"properties.revenue", "x"}}));
  EXPECT_EQ(Value("builders", "current"), 1);
  EXPECT_EQ(Value("big_spenders", "current"), 1);
}

TEST_F(EngineTest, SumPerDay) {
  MeasureSpec sum;
  sum.kind = MeasureKind::kSum;
  sum.field = F("properties.duration_ms");
  Build({Metric("reading", {"page_viewed"}, sum, Tumbling(CalendarUnit::kDay))});
  Apply(ev_.Make("page_viewed", kMon + 1000, {}, {{"properties.duration_ms", 1500}}));
  Apply(ev_.Make("page_viewed", kMon + 2000, {}, {{"properties.duration_ms", 250.5}}));
  Apply(ev_.Make("page_viewed", kMon + 3000, {{"properties.duration_ms", "oops"}}));
  EXPECT_EQ(Value("reading", "current"), 1750.5);
}

TEST_F(EngineTest, LateEventsAreCountedNotApplied) {
  MeasureSpec events;
  Build({Metric("all", {}, events, Tumbling(CalendarUnit::kDay))});
  EXPECT_EQ(Apply(ev_.Make("x", kMon + 10 * kHour)), Engine::Outcome::kApplied);
  // Allowed lateness 1 h: 09:00 exactly is still on time, 08:59:59.999 late.
  EXPECT_EQ(Apply(ev_.Make("x", kMon + 9 * kHour)), Engine::Outcome::kApplied);
  EXPECT_EQ(Apply(ev_.Make("x", kMon + 9 * kHour - 1)), Engine::Outcome::kLate);
  EXPECT_EQ(Value("all", "current"), 2);
}

// Two partitions; p/1 has a backlog it has not started on. Expiry waits for
// it, so its old events still land in Monday's window; once it is idle,
// Monday expires and older events are late whatever p/1's own clock says.
TEST_F(EngineTest, ExpiryWaitsForActiveSourcesThenOlderEventsAreLate) {
  MeasureSpec events;
  Build({Metric("all", {}, events, Tumbling(CalendarUnit::kDay))});
  const int a = engine_->RegisterSource("p/0");
  const int b = engine_->RegisterSource("p/1");
  auto monday_value = [&]() -> std::optional<double> {
    for (const SeriesSample& s : engine_->AllWindows()) {
      if (s.metric == "all" && s.window_start_ms == kMon) return s.value;
    }
    return std::nullopt;
  };
  StateDelta delta;
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 10 * kHour), a), Engine::Outcome::kApplied);
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 2 * kDay + 10 * kHour), a),
            Engine::Outcome::kApplied);
  engine_->TakeDelta(&delta);  // p/1 is active and silent: nothing expires
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 11 * kHour), b), Engine::Outcome::kApplied);
  EXPECT_EQ(monday_value(), 2);  // 10:00 from p/0, 11:00 from p/1

  // p/1 caught up: the horizon is p/0's Wednesday 10:00 minus 1 h, so
  // Monday (ended Tuesday 00:00, before the previous window) expires.
  engine_->SetSourceActivity({{"p/0", false}, {"p/1", true}}, /*others_idle=*/true);
  engine_->TakeDelta(&delta);
  EXPECT_EQ(monday_value(), std::nullopt);
  // Monday 12:00 is within p/1's own lateness (its clock says Mon 11:00) but
  // below the expiry horizon: late, not applied to a window that is gone.
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 12 * kHour), b), Engine::Outcome::kLate);
}

// A new assignment of p/0 alone leaves p/1 (a partition of a held topic,
// "p") active, so Monday stays open and p/1's Monday 12:00 still counts; a
// source of another topic ("replay/0") goes idle.
TEST_F(EngineTest, PartitionsOfHeldTopicsLeftOutOfAnAssignmentKeepExpiryBack) {
  MeasureSpec events;
  Build({Metric("all", {}, events, Tumbling(CalendarUnit::kDay))});
  const int a = engine_->RegisterSource("p/0");
  const int b = engine_->RegisterSource("p/1");
  const int r = engine_->RegisterSource("replay/0");
  StateDelta delta;
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 10 * kHour), b), Engine::Outcome::kApplied);
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 2 * kDay + 10 * kHour), a),
            Engine::Outcome::kApplied);
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 3 * kDay), r), Engine::Outcome::kApplied);
  engine_->SetSourceActivity({{"p/0", false}}, /*others_idle=*/true, {"p/"});
  engine_->TakeDelta(&delta);
  // Horizon: p/1's Monday 10:00 - 1 h (replay/0 no longer holds anything).
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 12 * kHour), b), Engine::Outcome::kApplied);
  double monday = -1;
  for (const SeriesSample& s : engine_->AllWindows()) {
    if (s.metric == "all" && s.window_start_ms == kMon) monday = s.value;
  }
  EXPECT_EQ(monday, 2);
  // Without the held topic p/1 goes idle too: the horizon becomes p/0's
  // Wednesday 09:00, Monday expires, and Monday 13:00 is late.
  engine_->SetSourceActivity({{"p/0", false}}, /*others_idle=*/true);
  engine_->TakeDelta(&delta);
  EXPECT_EQ(engine_->Apply(ev_.Make("x", kMon + 13 * kHour), b), Engine::Outcome::kLate);
}

TEST_F(EngineTest, RollingDistinctEdges) {
  WindowSpec rolling;
  rolling.kind = WindowKind::kRolling;
  rolling.length = absl::Hours(1);
  Build({Metric("active_1h", {}, Distinct("userId"), rolling)});
  // Window at stream time T is the seconds (T_s - 3600, T_s].
  Apply(ev_.Make("x", kMon, {{"userId", "a"}}));              // second S
  Apply(ev_.Make("x", kMon + 1000, {{"userId", "b"}}));       // S + 1
  Apply(ev_.Make("x", kMon + kHour - 1, {{"userId", "c"}}));  // S + 3599
  EXPECT_EQ(Value("active_1h", "current"), 3);
  // T = S + 3600: second S drops out (a), S + 1 stays (b).
  Apply(ev_.Make("x", kMon + kHour, {{"userId", "c"}}));
  EXPECT_EQ(Value("active_1h", "current"), 2);
  // T = S + 3601: b drops out too; only c.
  Apply(ev_.Make("x", kMon + kHour + 1000, {{"userId", "c"}}));
  EXPECT_EQ(Value("active_1h", "current"), 1);
}

TEST_F(EngineTest, PrefetchingChangesNoResult) {
  options_.dedup_horizon = absl::Hours(24);
  WindowSpec rolling;
  rolling.kind = WindowKind::kRolling;
  rolling.length = absl::Hours(1);
  MetricDefinition by_plan =
      Metric("wau_by_plan", {}, Distinct("userId"), Tumbling(CalendarUnit::kWeek));
  by_plan.group_by = {GroupBy{"plan", F("properties.plan")}};
  Build({Metric("wau", {}, Distinct("userId"), Tumbling(CalendarUnit::kWeek)),
         Metric("active_1h", {}, Distinct("userId"), rolling), by_plan});
  auto make = [this](int64_t time, const std::string& user, const std::string& plan,
                     absl::string_view id) {
    Event e = ev_.Make("x", time, {{"userId", user}, {"properties.plan", plan}});
    e.id = id;
    return e;
  };
  const std::vector<Event> events = {
      make(kMon + kHour, "u1", "free", "a"),
      make(kMon + 2 * kHour, "u2", "team", "b"),
      make(kMon + 2 * kHour, "u2", "team", "b"),  // a duplicate
      make(kMon + 3 * kHour, "u1", "free", "c"),
      make(kMon + 7 * kDay, "u3", "team", "d"),  // week 2
      make(kMon + 7 * kDay + 1000, "u1", "free", "e"),
  };
  // As the pipeline does: the next event is prefetched before each apply;
  // an event prefetched but never applied (u9) leaves no trace either.
  std::vector<Engine::Outcome> outcomes;
  for (size_t i = 0; i < events.size(); ++i) {
    engine_->Prefetch(i + 1 < events.size() ? events[i + 1]
                                            : make(kMon + 7 * kDay + 2000, "u9", "pro", "f"));
    outcomes.push_back(Apply(events[i]));
  }
  const auto kApplied = Engine::Outcome::kApplied;
  EXPECT_THAT(outcomes, ::testing::ElementsAre(kApplied, kApplied, Engine::Outcome::kDuplicate,
                                               kApplied, kApplied, kApplied));
  // Week 1: u1, u2; week 2: u3, u1. The last hour: u3 and u1. By plan:
  // free {u1} in both weeks, team {u2} then {u3}, no "pro".
  EXPECT_EQ(Value("wau", "current"), 2);
  EXPECT_EQ(Value("wau", "previous"), 2);
  EXPECT_EQ(Value("active_1h", "current"), 2);
  for (const char* window : {"current", "previous"}) {
    EXPECT_EQ(Value("wau_by_plan", window, {{"plan", "free"}}), 1) << window;
    EXPECT_EQ(Value("wau_by_plan", window, {{"plan", "team"}}), 1) << window;
    EXPECT_EQ(Value("wau_by_plan", window, {{"plan", "pro"}}), std::nullopt) << window;
  }
  // The never-applied "f" is no duplicate.
  EXPECT_EQ(Apply(make(kMon + 7 * kDay + 2000, "u1", "free", "f")), kApplied);
}

TEST_F(EngineTest, GroupByFoldsOverflowIntoOther) {
  MetricDefinition m = Metric("wau_by_plan", {}, Distinct("userId"), Tumbling(CalendarUnit::kWeek));
  m.group_by = {GroupBy{"plan", F("properties.plan")}};
  m.max_series = 2;
  Build({m});
  // free: u1,u2; pro: u3; then enterprise (u4) and team (u5, u4) overflow.
  Apply(ev_.Make("x", kMon + 1, {{"userId", "u1"}, {"properties.plan", "free"}}));
  Apply(ev_.Make("x", kMon + 2, {{"userId", "u2"}, {"properties.plan", "free"}}));
  Apply(ev_.Make("x", kMon + 3, {{"userId", "u3"}, {"properties.plan", "pro"}}));
  Apply(ev_.Make("x", kMon + 4, {{"userId", "u4"}, {"properties.plan", "enterprise"}}));
  Apply(ev_.Make("x", kMon + 5, {{"userId", "u5"}, {"properties.plan", "team"}}));
  Apply(ev_.Make("x", kMon + 6, {{"userId", "u4"}, {"properties.plan", "team"}}));
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "free"}}), 2);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "pro"}}), 1);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "__other__"}}), 2);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "team"}}), std::nullopt);
}

TEST_F(EngineTest, GroupByWithoutMaxSeriesIsCappedAtTheDefault) {
  MetricDefinition m = Metric("wau_by_plan", {}, Distinct("userId"), Tumbling(CalendarUnit::kWeek));
  m.group_by = {GroupBy{"plan", F("properties.plan")}};  // no max_series
  Build({m});
  // 1002 plans, one user each: the first 1000 get a series, the last two
  // fold into __other__ (2 users).
  for (int i = 0; i < 1002; ++i) {
    Apply(ev_.Make("x", kMon + i,
                   {{"userId", absl::StrCat("u", i)}, {"properties.plan", absl::StrCat("p", i)}}));
  }
  int series = 0;
  for (const SeriesSample& s : engine_->Snapshot().samples) series += s.window == "current";
  EXPECT_EQ(series, 1001);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "p999"}}), 1);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "p1000"}}), std::nullopt);
  EXPECT_EQ(Value("wau_by_plan", "current", {{"plan", "__other__"}}), 2);
}

TEST_F(EngineTest, RatioSkipsZeroDenominator) {
  MeasureSpec events;
  MeasureSpec ratio;
  ratio.kind = MeasureKind::kRatio;
  ratio.numerator = "orders";
  ratio.denominator = "visits";
  Build({Metric("orders", {"order"}, events, Tumbling(CalendarUnit::kDay)),
         Metric("visits", {"visit"}, events, Tumbling(CalendarUnit::kDay)),
         Metric("conversion", {}, ratio, Tumbling(CalendarUnit::kDay))});
  // Day 1: 1 order, 4 visits -> 0.25. Day 2: 1 order, 0 visits -> no sample.
  Apply(ev_.Make("order", kMon + 1));
  for (int i = 0; i < 4; ++i) Apply(ev_.Make("visit", kMon + 2 + i));
  Apply(ev_.Make("order", kMon + kDay + 1));
  EXPECT_EQ(Value("conversion", "previous"), 0.25);
  EXPECT_EQ(Value("conversion", "current"), std::nullopt);
}

// The cohort fixture of the saas north star: teams with more than 3 distinct
// active users within 7 days of team_created, by cohort week.
class CohortTest : public EngineTest {
 protected:
  void SetUp() override {
    options_.allowed_lateness = absl::Hours(1);
    Build(Defs());
  }
  std::vector<MetricDefinition> Defs() {
    const WindowSpec cohort = TeamWeekCohort();
    return {Metric(
        "collaborating_teams", {"file_edited"},
        Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 3),
        cohort)};
  }
  void Edit(const std::string& team, const std::string& user, int64_t t) {
    Apply(ev_.Make("file_edited", t, {{"context.groupId", team}, {"userId", user}}));
  }
  void Create(const std::string& team, int64_t t) {
    Apply(ev_.Make("team_created", t, {{"context.groupId", team}}));
  }
};

TEST_F(CohortTest, ActivityBeforeAnchorArrivesStillCounts) {
  // Team a created Wednesday 10:00; its 4 users' edits arrive first (event
  // times after 10:00 but processed before the anchor, within lateness).
  const int64_t created = kMon + 2 * kDay + 10 * kHour;
  Edit("a", "1", created + 60000);
  Edit("a", "2", created + 120000);
  Edit("a", "3", created + 180000);
  Edit("a", "4", created + 240000);
  EXPECT_EQ(Value("collaborating_teams", "current"), 0);
  Create("a", created);
  EXPECT_EQ(Value("collaborating_teams", "current"), 1);
}

TEST_F(CohortTest, OnlyActivityInsideTheFirstSevenDaysCounts) {
  const int64_t created = kMon + 10 * kHour;  // Monday 10:00, cohort week kMon
  Create("a", created);
  Edit("a", "1", created + kHour);
  Edit("a", "2", created + kDay);
  Edit("a", "3", created + 6 * kDay);
  // 7 days after creation exactly: outside [created, created + 7d).
  Edit("a", "4", created + 7 * kDay);
  // Stream time is now Monday of week 2, 10:00: current cohort is week 2
  // (empty), and week 1 is not complete until its last anchor's window
  // closes, i.e. previous is the week before week 1 (empty too).
  EXPECT_EQ(Value("collaborating_teams", "current"), 0);
  // Week 1's cohort value: 3 users (not > 3).
  auto all = engine_->AllWindows();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].window_start_ms, kMon);
  EXPECT_EQ(all[0].value, 0);
}

TEST_F(CohortTest, PreviousIsNewestFullyClosedPeriod) {
  // Team a created Sunday 23:00 of week 1 with 4 users on day 3.
  const int64_t created = kMon + 7 * kDay - kHour;
  Create("a", created);
  for (std::string u : {"1", "2", "3", "4"}) Edit("a", u, created + 3 * kDay);
  // Stream time: created + 3d (week 2, Wednesday 23:00). Week 1 still open:
  // its last window closes at created + 7d = week 3 Monday minus 1 h.
  EXPECT_EQ(Value("collaborating_teams", "current"), 0);
  // Advance stream time to exactly kMon + 14d - 1h: week 1 (ending kMon+7d)
  // has every window closed when now - 7d >= kMon + 7d... not yet (= kMon+7d-1h).
  Edit("z", "x", kMon + 14 * kDay - kHour);
  EXPECT_EQ(Value("collaborating_teams", "previous"), 0);
  // At kMon + 14d (week 3 begins), now - 7d = kMon + 7d lies in week 2, so the
  // newest closed period is week 1: value 1.
  Edit("z", "x", kMon + 14 * kDay);
  EXPECT_EQ(Value("collaborating_teams", "previous"), 1);
}

TEST_F(EngineTest, RestoreGivesTheSameNumbersAsAnUninterruptedRun) {
  auto defs = [&] {
    const WindowSpec cohort = TeamWeekCohort();
    WindowSpec rolling;
    rolling.kind = WindowKind::kRolling;
    rolling.length = absl::Hours(24);
    return std::vector<MetricDefinition>{
        Metric("wau", {"file_edited"}, Distinct("userId"), Tumbling(CalendarUnit::kWeek)),
        Metric(
            "teams", {"file_edited"},
            Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 1),
            cohort),
        Metric("dau_rolling", {"file_edited"}, Distinct("userId"), rolling)};
  };
  defs();  // interns every path before events are built
  std::vector<Event> first, second;
  first.push_back(
      ev_.Make("file_edited", kMon + 2 * kHour, {{"context.groupId", "a"}, {"userId", "u1"}}));
  first.push_back(ev_.Make("team_created", kMon + kHour, {{"context.groupId", "a"}}));
  first.push_back(
      ev_.Make("file_edited", kMon + 3 * kHour, {{"context.groupId", "b"}, {"userId", "u9"}}));
  // b's anchor (02:59) comes after its activity (03:00) but within lateness
  // of stream time 03:00.
  second.push_back(ev_.Make("team_created", kMon + 3 * kHour - 60000, {{"context.groupId", "b"}}));
  second.push_back(
      ev_.Make("file_edited", kMon + 4 * kHour, {{"context.groupId", "a"}, {"userId", "u2"}}));
  second.push_back(
      ev_.Make("file_edited", kMon + 5 * kHour, {{"context.groupId", "b"}, {"userId", "u8"}}));

  // Uninterrupted run.
  Build(defs());
  for (auto& e : first) Apply(e);
  for (auto& e : second) Apply(e);
  const auto expected = engine_->Snapshot().samples;
  // Hand check: wau = {u1,u9,u2,u8} = 4; teams: a {u1,u2} > 1, b {u9,u8} > 1 -> 2.
  EXPECT_EQ(Value("wau", "current"), 4);
  EXPECT_EQ(Value("teams", "current"), 2);
  EXPECT_EQ(Value("dau_rolling", "current"), 4);

  // Interrupted: checkpoint after `first` into a map, restore into a new engine.
  Build(defs());
  for (auto& e : first) Apply(e);
  std::map<std::string, std::string> store;
  CheckpointAndRestart(defs(), &store);
  EXPECT_TRUE(engine_->stale_prefixes().empty());
  for (auto& e : second) Apply(e);
  const auto actual = engine_->Snapshot().samples;
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].metric, expected[i].metric);
    EXPECT_EQ(actual[i].window, expected[i].window);
    EXPECT_EQ(actual[i].value, expected[i].value) << actual[i].metric;
  }
}

TEST_F(EngineTest, DuplicateIdsAreSkippedAcrossRestartsWithinHorizon) {
  options_.dedup_horizon = absl::Hours(24);
  MeasureSpec events;
  auto defs = [&] {
    return std::vector<MetricDefinition>{Metric("all", {}, events, Tumbling(CalendarUnit::kWeek))};
  };
  Build(defs());
  Event first = ev_.Make("x", kMon + kHour);
  first.id = "m-1";
  EXPECT_EQ(Apply(first), Engine::Outcome::kApplied);
  EXPECT_EQ(Apply(first), Engine::Outcome::kDuplicate);
  Event no_id = ev_.Make("x", kMon + kHour);
  EXPECT_EQ(Apply(no_id), Engine::Outcome::kApplied);
  EXPECT_EQ(Apply(no_id), Engine::Outcome::kApplied);
  EXPECT_EQ(Value("all", "current"), 3);

  // The id survives a checkpoint and restore.
  StateDelta delta;
  engine_->TakeDelta(&delta);
  Build(defs());
  for (const auto& [k, v] : delta.entries()) ASSERT_OK(engine_->Restore(k, *v));
  engine_->FinishRestore();
  EXPECT_EQ(Apply(first), Engine::Outcome::kDuplicate);

  // Once every source is 24 h + 1 h (lateness) past it, the id is forgotten:
  // horizon = stream time - 1 h; ids older than horizon - 24 h expire.
  Apply(ev_.Make("x", kMon + kHour + 25 * kHour + 1));
  engine_->TakeDelta(&delta);
  Event again = first;
  again.time = EventTime(kMon + 26 * kHour);
  EXPECT_EQ(Apply(again), Engine::Outcome::kApplied);
}

TEST_F(EngineTest, RestoreReportsStateOfRedefinedMetrics) {
  MeasureSpec events;
  Build({Metric("a", {}, events, Tumbling(CalendarUnit::kDay))});
  EXPECT_OK(engine_->Restore("m/a/old/c\0001\000", "5"));
  ASSERT_EQ(engine_->stale_prefixes().size(), 1u);
  EXPECT_EQ(engine_->stale_prefixes()[0], "m/a/old/");
}

}  // namespace
}  // namespace nsmd

namespace nsmd {
namespace {

// Entity comparisons <, <= and ==, each way across the threshold.
TEST_F(EngineTest, EntityComparisonsLessThanAtMostAndEqual) {
  WindowSpec lifetime;
  lifetime.kind = WindowKind::kLifetime;
  auto count = [&](const char* name, Comparison cmp, double n) {
    return Metric(name, {"project_created"},
                  Entities("context.groupId", EntityAggregate::kCount, "", cmp, n), lifetime);
  };
  auto sum = [&](const char* name, Comparison cmp, double n) {
    return Metric(name, {"order"},
                  Entities("userId", EntityAggregate::kSum, "properties.seats", cmp, n), lifetime);
  };
  Build({count("lt2", Comparison::kLt, 2), count("lte2", Comparison::kLte, 2),
         count("eq2", Comparison::kEq, 2), sum("sum_lt10", Comparison::kLt, 10),
         sum("sum_lte10", Comparison::kLte, 10), sum("sum_eq10", Comparison::kEq, 10)});
  int64_t t = kMon;
  auto project = [&](const char* team) {
    Apply(ev_.Make("project_created", t += 1000, {{"context.groupId", team}}));
  };
  // Counts a=1, b=2, c=3: < 2 is {a}; <= 2 is {a, b}; == 2 is {b}.
  project("a");
  project("b");
  project("b");
  for (int i = 0; i < 3; ++i) project("c");
  EXPECT_EQ(Value("lt2", "current"), 1);
  EXPECT_EQ(Value("lte2", "current"), 2);
  EXPECT_EQ(Value("eq2", "current"), 1);
  // a reaches 2: < 2 loses it (empty), <= 2 keeps it, == 2 gains it {a, b}.
  project("a");
  EXPECT_EQ(Value("lt2", "current"), 0);
  EXPECT_EQ(Value("lte2", "current"), 2);
  EXPECT_EQ(Value("eq2", "current"), 2);
  // Sums u1 = 4 + 5 = 9, u2 = 10, u3 = 12.5: < 10 {u1}; <= 10 {u1, u2}; == 10 {u2}.
  Apply(ev_.Make("order", t += 1000, {{"userId", "u1"}}, {{"properties.seats", 4}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u1"}}, {{"properties.seats", 5}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u2"}}, {{"properties.seats", 10}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u3"}}, {{"properties.seats", 12.5}}));
  EXPECT_EQ(Value("sum_lt10", "current"), 1);
  EXPECT_EQ(Value("sum_lte10", "current"), 2);
  EXPECT_EQ(Value("sum_eq10", "current"), 1);
}

// An entity whose events lack the aggregate field exists with 0: "sum(F) < 1"
// and "distinct(F) == 0" count it, and it survives a checkpoint and restore.
TEST_F(EngineTest, EntitiesWithoutTheAggregateFieldCountWithZero) {
  WindowSpec lifetime;
  lifetime.kind = WindowKind::kLifetime;
  auto defs = [&] {
    return std::vector<MetricDefinition>{
        Metric("no_spend", {"order"},
               Entities("userId", EntityAggregate::kSum, "properties.revenue", Comparison::kLt, 1),
               lifetime),
        Metric("unreviewed", {"pr_opened"},
               Entities("context.groupId", EntityAggregate::kDistinct, "properties.reviewer",
                        Comparison::kEq, 0),
               lifetime),
        Metric("few_reviewers", {"pr_opened"},
               Entities("context.groupId", EntityAggregate::kDistinct, "properties.reviewer",
                        Comparison::kLte, 1),
               lifetime)};
  };
  Build(defs());
  int64_t t = kMon;
  // u1: 5 (not < 1); u2: no revenue -> 0; u3: "x" is no number -> 0; u4: 0.5.
  // An order without a userId has no entity and counts nowhere.
  Apply(ev_.Make("order", t += 1000, {{"userId", "u1"}}, {{"properties.revenue", 5}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u2"}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u3"}, {"properties.revenue", "x"}}));
  Apply(ev_.Make("order", t += 1000, {{"userId", "u4"}}, {{"properties.revenue", 0.5}}));
  Apply(ev_.Make("order", t += 1000));
  EXPECT_EQ(Value("no_spend", "current"), 3);  // u2, u3, u4
  // Teams: a has reviewer r1; b has two PRs without one; c has r1 and r2.
  Apply(
      ev_.Make("pr_opened", t += 1000, {{"context.groupId", "a"}, {"properties.reviewer", "r1"}}));
  Apply(ev_.Make("pr_opened", t += 1000, {{"context.groupId", "b"}}));
  Apply(ev_.Make("pr_opened", t += 1000, {{"context.groupId", "b"}}));
  Apply(
      ev_.Make("pr_opened", t += 1000, {{"context.groupId", "c"}, {"properties.reviewer", "r1"}}));
  Apply(
      ev_.Make("pr_opened", t += 1000, {{"context.groupId", "c"}, {"properties.reviewer", "r2"}}));
  EXPECT_EQ(Value("unreviewed", "current"), 1);     // b (0 reviewers)
  EXPECT_EQ(Value("few_reviewers", "current"), 2);  // a (1), b (0)

  // Checkpoint, restore into a new engine, go on.
  std::map<std::string, std::string> store;
  CheckpointAndRestart(defs(), &store);
  EXPECT_EQ(Value("no_spend", "current"), 3);
  EXPECT_EQ(Value("unreviewed", "current"), 1);
  EXPECT_EQ(Value("few_reviewers", "current"), 2);
  // u2 now spends 2 (no longer < 1); b gets reviewer r3 (1: no longer == 0,
  // still <= 1); a PR of b without a reviewer changes nothing.
  Apply(ev_.Make("order", t += 1000, {{"userId", "u2"}}, {{"properties.revenue", 2}}));
  Apply(
      ev_.Make("pr_opened", t += 1000, {{"context.groupId", "b"}, {"properties.reviewer", "r3"}}));
  Apply(ev_.Make("pr_opened", t += 1000, {{"context.groupId", "b"}}));
  EXPECT_EQ(Value("no_spend", "current"), 2);  // u3, u4
  EXPECT_EQ(Value("unreviewed", "current"), 0);
  EXPECT_EQ(Value("few_reviewers", "current"), 2);  // a, b
}

// Label values Prometheus would misread: "" (no label at all) becomes
// "__empty__"; real values "__other__" and "__empty__" get one more "_" so
// they do not merge with the overflow series or the empty placeholder.
TEST_F(EngineTest, GroupByEmptyAndReservedValuesStayDistinct) {
  MeasureSpec events;
  auto defs = [&] {
    MetricDefinition m = Metric("by_plan", {}, events, Tumbling(CalendarUnit::kWeek));
    m.group_by = {GroupBy{"plan", F("properties.plan")}};
    m.max_series = 3;
    return std::vector<MetricDefinition>{m};
  };
  Build(defs());
  auto plan = [&](int64_t at, const char* value) {
    Apply(ev_.Make("x", kMon + at, {{"properties.plan", value}}));
  };
  // Three slots: "", "__other__", "__empty__". Then "free" and an event
  // without a plan ("none") overflow.
  plan(1, "");
  plan(2, "__other__");
  plan(3, "__empty__");
  plan(4, "");
  plan(5, "free");
  Apply(ev_.Make("x", kMon + 6));
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__empty__"}}), 2);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__other___"}}), 1);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__empty___"}}), 1);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__other__"}}), 2);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", ""}}), std::nullopt);

  // After a restore the escaped "__other___" still holds one of the three
  // slots: a new plan overflows.
  std::map<std::string, std::string> store;
  CheckpointAndRestart(defs(), &store);
  plan(7, "pro");
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "pro"}}), std::nullopt);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__other__"}}), 3);
  EXPECT_EQ(Value("by_plan", "current", {{"plan", "__other___"}}), 1);
}

// A metric key: "m/<metric>/f/" then the components joined by NUL (the
// test components hold no NUL or \x01, so nothing is escaped).
std::string RowKey(const std::string& metric, std::initializer_list<std::string> components) {
  std::string key = "m/" + metric + "/f/";
  bool first = true;
  for (const std::string& c : components) {
    if (!first) key.push_back('\0');
    first = false;
    key += c;
  }
  return key;
}

// The rows of `store` whose key starts with `prefix`.
std::map<std::string, std::string> RowsUnder(const std::map<std::string, std::string>& store,
                                             const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : store) {
    if (k.compare(0, prefix.size(), prefix) == 0) out.emplace(k, v);
  }
  return out;
}

TEST_F(EngineTest, DistinctMembersPersistAsOneHashBlobPerCellAndCheckpoint) {
  WindowSpec lifetime;
  lifetime.kind = WindowKind::kLifetime;
  auto defs = [&] {
    return std::vector<MetricDefinition>{Metric("users", {}, Distinct("userId"), lifetime)};
  };
  Build(defs());
  int64_t t = kMon;
  auto seen = [&](const char* user) { Apply(ev_.Make("x", t += 1000, {{"userId", user}})); };
  std::map<std::string, std::string> store;
  StateDelta delta;
  // Checkpoint 1: u1, u2, u1 -> 2 members, one row of 2 x 16 bytes, seq 0
  // (lifetime window 0, no group: "").
  seen("u1");
  seen("u2");
  seen("u1");
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  delta.Clear();
  auto rows = RowsUnder(store, RowKey("users", {"dh"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin()->first, RowKey("users", {"dh", "0", "", "0"}));
  EXPECT_EQ(rows.begin()->second.size(), 32u);
  // Checkpoint 2: u3 new, u2 known -> one more row (seq 1) of 16 bytes.
  seen("u3");
  seen("u2");
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  delta.Clear();
  rows = RowsUnder(store, RowKey("users", {"dh"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[RowKey("users", {"dh", "0", "", "1"})].size(), 16u);
  // No row per member.
  for (const auto& [k, v] : store) EXPECT_EQ(k.find("u1"), std::string::npos) << k;
  EXPECT_EQ(Value("users", "current"), 3);

  // Restore: {u1, u2, u3} = 3; u2 again is no new member; u4 is.
  Build(defs());
  for (const auto& [k, v] : store) ASSERT_OK(engine_->Restore(k, v)) << k;
  engine_->FinishRestore();
  EXPECT_EQ(Value("users", "current"), 3);
  seen("u2");
  EXPECT_EQ(Value("users", "current"), 3);
  seen("u4");
  EXPECT_EQ(Value("users", "current"), 4);
  // The restored cell continues the sequence: the next row is seq 2.
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  rows = RowsUnder(store, RowKey("users", {"dh"}));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[RowKey("users", {"dh", "0", "", "2"})].size(), 16u);

  // A blob whose length is no multiple of 16 is malformed.
  Build(defs());
  EXPECT_EQ(engine_->Restore(RowKey("users", {"dh", "0", "", "0"}), std::string(17, 'a')).code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(EngineTest, EntityMembersPersistAsOneHashBlobPerCellAndCheckpoint) {
  WindowSpec lifetime;
  lifetime.kind = WindowKind::kLifetime;
  auto defs = [&] {
    return std::vector<MetricDefinition>{Metric(
        "teams", {},
        Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 1),
        lifetime)};
  };
  Build(defs());
  int64_t t = kMon;
  auto seen = [&](const char* team, const char* user) {
    Apply(ev_.Make("x", t += 1000, {{"context.groupId", team}, {"userId", user}}));
  };
  // a {u1}; b {u1, u2} (u1 twice): teams with > 1 member = 1 (b).
  seen("a", "u1");
  seen("b", "u1");
  seen("b", "u2");
  seen("b", "u1");
  EXPECT_EQ(Value("teams", "current"), 1);
  StateDelta delta;
  engine_->TakeDelta(&delta);
  std::map<std::string, std::string> store;
  CommitTo(delta, &store);
  // One row: 3 entries of {4-byte length, 1-byte team, 16-byte hash} = 63.
  auto rows = RowsUnder(store, RowKey("teams", {"emh"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin()->first, RowKey("teams", {"emh", "0", "", "0"}));
  EXPECT_EQ(rows.begin()->second.size(), 63u);

  Build(defs());
  for (const auto& [k, v] : store) ASSERT_OK(engine_->Restore(k, v)) << k;
  engine_->FinishRestore();
  EXPECT_EQ(Value("teams", "current"), 1);
  seen("a", "u1");  // known member of a: a stays at 1
  EXPECT_EQ(Value("teams", "current"), 1);
  seen("a", "u2");  // a now has 2 > 1
  EXPECT_EQ(Value("teams", "current"), 2);

  // Truncated entry (length says 5 bytes of entity, fewer follow).
  Build(defs());
  std::string bad(
      "\x05\x00\x00\x00"
      "ab",
      6);
  EXPECT_EQ(engine_->Restore(RowKey("teams", {"emh", "0", "", "0"}), bad).code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(EngineTest, ExpiringADistinctCellDeletesItsRowsByOnePrefix) {
  auto defs = [&] {
    MetricDefinition m = Metric("wau", {}, Distinct("userId"), Tumbling(CalendarUnit::kWeek));
    m.group_by = {GroupBy{"plan", F("properties.plan")}};
    return std::vector<MetricDefinition>{m};
  };
  Build(defs());
  auto seen = [&](int64_t at, const char* user, const char* plan) {
    Apply(ev_.Make("x", at, {{"userId", user}, {"properties.plan", plan}}));
  };
  // Week 1 (window 1704067200000 = kMon): two groups, "free" and "pro".
  seen(kMon + kHour, "u1", "free");
  seen(kMon + 2 * kHour, "u2", "free");
  seen(kMon + 3 * kHour, "u3", "pro");
  StateDelta delta;
  engine_->TakeDelta(&delta);
  std::map<std::string, std::string> store;
  CommitTo(delta, &store);
  delta.Clear();
  ASSERT_EQ(RowsUnder(store, RowKey("wau", {"dh"})).size(), 2u);
  EXPECT_TRUE(delta.prefix_deletions().empty());
  // Week 3 + 2 h: week 2 is "previous", week 1 has ended more than the
  // allowed lateness (1 h) ago, so it expires; its two cells go by prefix.
  seen(kMon + 14 * kDay + 2 * kHour, "u4", "free");
  engine_->TakeDelta(&delta);
  EXPECT_THAT(delta.prefix_deletions(),
              ::testing::ElementsAre(RowKey("wau", {"dh", "1704067200000", "free", ""}),
                                     RowKey("wau", {"dh", "1704067200000", "pro", ""})));
  CommitTo(delta, &store);
  // Left: only week 3's row of "free".
  auto rows = RowsUnder(store, RowKey("wau", {"dh"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin()->first,
            RowKey("wau", {"dh", absl::StrCat(kMon + 14 * kDay), "free", "0"}));
}

TEST_F(EngineTest, ExpiringAnEntityCellDeletesItsRowsByPrefix) {
  Build(
      {Metric("active_teams", {},
              Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 0),
              Tumbling(CalendarUnit::kWeek))});
  // Week 1: team a with u1, team b without a member ("e" row only).
  Apply(ev_.Make("x", kMon + kHour, {{"context.groupId", "a"}, {"userId", "u1"}}));
  Apply(ev_.Make("x", kMon + 2 * kHour, {{"context.groupId", "b"}}));
  StateDelta delta;
  engine_->TakeDelta(&delta);
  std::map<std::string, std::string> store;
  CommitTo(delta, &store);
  delta.Clear();
  EXPECT_EQ(RowsUnder(store, RowKey("active_teams", {"e", ""})).size(), 1u);  // b
  EXPECT_EQ(RowsUnder(store, RowKey("active_teams", {"emh"})).size(), 1u);    // a's u1
  // Week 3 + 2 h: week 1 expires: one prefix per row kind of the cell.
  Apply(ev_.Make("x", kMon + 14 * kDay + 2 * kHour, {{"context.groupId", "c"}}));
  engine_->TakeDelta(&delta);
  EXPECT_THAT(delta.prefix_deletions(),
              ::testing::ElementsAre(RowKey("active_teams", {"e", "1704067200000", "", ""}),
                                     RowKey("active_teams", {"emh", "1704067200000", "", ""})));
  CommitTo(delta, &store);
  EXPECT_EQ(RowsUnder(store, RowKey("active_teams", {"emh"})).size(), 0u);
  // Only week 3's "e" row of c is left.
  auto rows = RowsUnder(store, RowKey("active_teams", {"e", ""}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin()->first,
            RowKey("active_teams", {"e", absl::StrCat(kMon + 14 * kDay), "", "c"}));
}

// A cohort's filter and anchor accept names independently: an anchor that
// names no event anchors on any event, a filter that names none takes any
// event, and an event only one of them names reaches only that one.
TEST_F(EngineTest, CohortFilterAndAnchorAcceptEventNamesEachOnItsOwn) {
  const WindowSpec by_creation = TeamWeekCohort();
  WindowSpec by_first_event = by_creation;
  by_first_event.anchor = Filter();  // any event anchors its team
  // "active": teams with a user's event of any name after team_created;
  // "editing": teams with an edit after their first event of any name.
  Build(
      {Metric("active", {},
              Entities("context.groupId", EntityAggregate::kDistinct, "userId", Comparison::kGt, 0),
              by_creation),
       Metric("editing", {"file_edited"},
              Entities("context.groupId", EntityAggregate::kCount, "", Comparison::kGte, 1),
              by_first_event)});
  auto event = [&](const std::string& name, const std::string& team, const std::string& user,
                   int64_t t) {
    Apply(user.empty() ? ev_.Make(name, kMon + t, {{"context.groupId", team}})
                       : ev_.Make(name, kMon + t, {{"context.groupId", team}, {"userId", user}}));
  };
  // Team a. active: the edit comes before team_created, outside the cohort
  // window; comment_added (user 2) counts, team_created itself has no user.
  // editing: the edit is a's first event, so it anchors and counts.
  event("file_edited", "a", "1", 1 * kHour);
  event("team_created", "a", "", 2 * kHour);
  event("comment_added", "a", "2", 3 * kHour);
  // Team b is never created: active never counts it. editing: signed_up (a
  // name no filter names) on Sunday anchors b in the first cohort week; the
  // edit after it, on Monday, counts there.
  event("signed_up", "b", "3", 6 * kDay + 23 * kHour);
  event("file_edited", "b", "3", 7 * kDay + 1 * kHour);
  std::map<std::pair<std::string, int64_t>, double> cohorts;
  for (const SeriesSample& s : engine_->AllWindows()) {
    cohorts[{s.metric, s.window_start_ms}] = s.value;
  }
  const std::map<std::pair<std::string, int64_t>, double> expected = {
      {{"active", kMon}, 1},    // a
      {{"editing", kMon}, 2}};  // a and b
  EXPECT_EQ(cohorts, expected);
}

TEST_F(CohortTest, PendingContributionsGetRowsOnlyIfStillPendingAtACheckpoint) {
  const int64_t created = kMon + 2 * kDay + 10 * kHour;  // Wednesday 10:00
  std::map<std::string, std::string> store;
  StateDelta delta;
  const std::string pending_rows = RowKey("collaborating_teams", {"p"});
  // Team a's edit waits for its anchor, which arrives before the checkpoint:
  // the checkpoint neither puts nor deletes a pending row; it puts the anchor.
  Edit("a", "1", created + 60000);
  Create("a", created);
  engine_->TakeDelta(&delta);
  for (const auto& [k, v] : delta.entries()) {
    EXPECT_NE(k.compare(0, pending_rows.size(), pending_rows), 0) << k;
  }
  CommitTo(delta, &store);
  delta.Clear();
  EXPECT_TRUE(RowsUnder(store, pending_rows).empty());
  EXPECT_EQ(store.count(RowKey("collaborating_teams", {"a", "a"})), 1u);
  // Team b's 4 edits are still waiting at the checkpoint: 4 rows, which a
  // restart reads back.
  for (std::string u : {"1", "2", "3", "4"}) Edit("b", u, created + 120000);
  CheckpointAndRestart(Defs(), &store);
  EXPECT_EQ(RowsUnder(store, pending_rows).size(), 4u);
  EXPECT_EQ(Value("collaborating_teams", "current"), 0);
  // b's anchor: its 4 users (> 3) count, and the rows go.
  Create("b", created);
  EXPECT_EQ(Value("collaborating_teams", "current"), 1);
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  EXPECT_TRUE(RowsUnder(store, pending_rows).empty());
}

// A cohort keeps an entity's anchor only while an event could still land in
// its window: once stream time minus allowed lateness (1 h) has passed the
// end of the window (7 d), the anchor and its row go, and the entity may
// anchor again, opening a new window.
TEST_F(CohortTest, AnchorsAreDroppedOnceTheirWindowCanNoLongerChange) {
  const int64_t created = kMon + 10 * kHour;  // Monday 10:00, cohort week kMon
  std::map<std::string, std::string> store;
  StateDelta delta;
  const std::string anchor_rows = RowKey("collaborating_teams", {"a", ""});
  Create("a", created);
  Create("b", created + 3 * kDay);
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  delta.Clear();
  EXPECT_EQ(RowsUnder(store, anchor_rows).size(), 2u);
  // Stream time created + 8 d + 1 h: the horizon (created + 8 d) has passed
  // a's window end (created + 7 d) but not b's (created + 10 d).
  Edit("b", "1", created + 8 * kDay + kHour);
  engine_->TakeDelta(&delta);
  CommitTo(delta, &store);
  delta.Clear();
  EXPECT_EQ(RowsUnder(store, anchor_rows),
            (std::map<std::string, std::string>{
                {RowKey("collaborating_teams", {"a", "b"}), absl::StrCat(created + 3 * kDay)}}));
  // a anchors again (Tuesday of week 2) with 4 active users: it counts in
  // week 2's cohort, which a kept anchor (first one wins) would have ignored.
  const int64_t again = created + 8 * kDay + kHour;
  Create("a", again);
  for (std::string u : {"1", "2", "3", "4"}) Edit("a", u, again + kHour);
  EXPECT_EQ(Value("collaborating_teams", "current"), 1);
  // The same holds after a restart: the state has b's and a's new anchor.
  CheckpointAndRestart(Defs(), &store);
  EXPECT_EQ(RowsUnder(store, anchor_rows).size(), 2u);
  EXPECT_EQ(store[RowKey("collaborating_teams", {"a", "a"})], absl::StrCat(again));
}

// Whether an entity anchors again depends on event times only, not on
// whether a checkpoint (which sweeps anchors) ran in between: a's second
// team_created, 8 d 1 h after the first (past the 7 d window and the 1 h
// lateness), opens a new window with or without a checkpoint before it. So
// tasks and replays that checkpoint at other moments agree.
TEST_F(CohortTest, AnchoringAgainDoesNotDependOnWhenCheckpointsRan) {
  const int64_t created = kMon + 10 * kHour;
  const int64_t again = created + 8 * kDay + kHour;
  for (bool checkpoint : {false, true}) {
    Build(Defs());
    Create("a", created);
    Edit("b", "1", again);  // moves stream time past a's window
    if (checkpoint) {
      StateDelta delta;
      engine_->TakeDelta(&delta);
    }
    Create("a", again);
    for (std::string u : {"1", "2", "3", "4"}) Edit("a", u, again + kHour);
    EXPECT_EQ(Value("collaborating_teams", "current"), 1) << "checkpoint: " << checkpoint;
  }
}

}  // namespace
}  // namespace nsmd
