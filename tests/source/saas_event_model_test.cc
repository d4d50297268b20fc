#include "daemon/source/saas_event_model.h"

#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace nsmd {
namespace {

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());

TEST(SaasEventModelTest, SameSeedSameEvents) {
  SaasEventModel a(300, 7, kStart), b(300, 7, kStart), c(300, 8, kStart);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const absl::Time t = kStart + absl::Seconds(i);
    SaasEventModel::GeneratedEvent ea = a.Next(t), eb = b.Next(t), ec = c.Next(t);
    EXPECT_EQ(ea.json, eb.json);
    differs |= ea.json != ec.json;
  }
  EXPECT_TRUE(differs);
}

TEST(SaasEventModelTest, EventsAreCompleteSegmentTracksAndTeamsStartWithTeamCreated) {
  SaasEventModel model(50, 42, kStart);
  simdjson::dom::parser parser;
  absl::flat_hash_map<std::string, std::string> first_event_of_team;
  std::set<std::string> ids;
  std::set<std::string> names;
  size_t bytes = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    SaasEventModel::GeneratedEvent e = model.Next(kStart + absl::Seconds(i));
    bytes += e.json.size();
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(e.json).get(doc)) << e.json;
    std::string_view event, user, id, ts, team, plan;
    ASSERT_FALSE(doc["event"].get_string().get(event)) << e.json;
    ASSERT_FALSE(doc["userId"].get_string().get(user)) << e.json;
    ASSERT_FALSE(doc["messageId"].get_string().get(id)) << e.json;
    ASSERT_FALSE(doc["timestamp"].get_string().get(ts)) << e.json;
    ASSERT_FALSE(doc["context"]["groupId"].get_string().get(team)) << e.json;
    ASSERT_FALSE(doc["properties"]["plan"].get_string().get(plan)) << e.json;
    EXPECT_EQ(e.key, user);
    EXPECT_TRUE(plan == "free" || plan == "team" || plan == "enterprise") << plan;
    if (event == "page_viewed") {
      int64_t ms;
      EXPECT_FALSE(doc["properties"]["duration_ms"].get_int64().get(ms)) << e.json;
    }
    names.insert(std::string(event));
    EXPECT_TRUE(ids.insert(std::string(id)).second) << "repeated messageId " << id;
    first_event_of_team.try_emplace(std::string(team), std::string(event));
  }
  for (const auto& [team, event] : first_event_of_team) {
    EXPECT_EQ(event, "team_created") << team;
  }
  // A fifth of the teams exist at once, the rest appear at 0.2% per event:
  // all 50 within 40,000 events (40 needed, 80 expected).
  EXPECT_EQ(first_event_of_team.size(), 50u);
  EXPECT_EQ(names, (std::set<std::string>{"team_created", "file_edited", "comment_added",
                                          "page_viewed", "project_created"}));
  const double mean = static_cast<double>(bytes) / n;
  EXPECT_GE(mean, 180);
  EXPECT_LE(mean, 320);
}

}  // namespace
}  // namespace nsmd
