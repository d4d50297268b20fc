#include "daemon/source/saas_event_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

// After the initial fifth, a new team appears with this chance per event.
constexpr double kNewTeamChance = 0.002;

}  // namespace

SaasEventModel::SaasEventModel(int teams, uint64_t seed, absl::Time)
    : rng_(seed), seed_(seed), max_teams_(std::max(1, teams)) {
  const int initial = std::max(1, max_teams_ / 5);
  for (int i = 0; i < initial; ++i) AddTeam();
}

void SaasEventModel::AddTeam() {
  Team team;
  // Sizes: 1 + exponential with mean 5, capped at 40 (many small, few big).
  std::exponential_distribution<double> size(1.0 / 5);
  team.size = 1 + std::min(39, static_cast<int>(size(rng_)));
  std::lognormal_distribution<double> engagement(0.0, 0.8);
  team.engagement = engagement(rng_);
  std::discrete_distribution<int> plan({60, 30, 10});
  static const char* const kPlans[] = {"free", "team", "enterprise"};
  team.plan = kPlans[plan(rng_)];
  teams_.push_back(team);
  pending_creation_.push_back(static_cast<int>(teams_.size()) - 1);
  weights_.push_back(team.engagement * team.size);
  pick_team_ = std::discrete_distribution<int>(weights_.begin(), weights_.end());
}

SaasEventModel::GeneratedEvent SaasEventModel::Make(const char* event, int team, int user,
                                                    absl::Time t,
                                                    const std::string& extra_properties) {
  GeneratedEvent e;
  e.key = absl::StrCat("u-", team, "-", user);
  e.json = absl::StrCat(R"({"type":"track","event":")", event, R"(","userId":")", e.key,
                        R"(","messageId":"m-)", seed_, "-", counter_++, R"(","timestamp":")",
                        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()),
                        R"(","context":{"groupId":"t-)", team,
                        R"(","library":{"name":"analytics.js"}},)", R"("properties":{"plan":")",
                        teams_[team].plan, "\"", extra_properties, "}}");
  return e;
}

SaasEventModel::GeneratedEvent SaasEventModel::Next(absl::Time event_time) {
  std::uniform_real_distribution<double> unit(0, 1);
  if (static_cast<int>(teams_.size()) < max_teams_ && unit(rng_) < kNewTeamChance) AddTeam();
  if (!pending_creation_.empty()) {
    const int team = pending_creation_.front();
    pending_creation_.erase(pending_creation_.begin());
    return Make("team_created", team, 0, event_time,
                absl::StrCat(R"(,"team_size":)", teams_[team].size));
  }
  const int team = pick_team_(rng_);
  Team& t = teams_[team];
  // Within a team, earlier members are more active.
  std::geometric_distribution<int> member(std::min(0.9, 2.0 / (t.size + 1)));
  const int user = std::min(t.size - 1, member(rng_));
  const double r = unit(rng_);
  if (r < 0.40) {
    return Make(
        "file_edited", team, user, event_time,
        absl::StrCat(R"(,"file_id":"f-)", team, "-", static_cast<int>(unit(rng_) * 50), "\""));
  }
  if (r < 0.65) return Make("comment_added", team, user, event_time, R"(,"thread":"main")");
  if (r < 0.95) {
    std::uniform_int_distribution<int> duration(500, 120000);
    return Make("page_viewed", team, user, event_time,
                absl::StrCat(R"(,"path":"/docs/p)", static_cast<int>(unit(rng_) * 200),
                             R"(","duration_ms":)", duration(rng_)));
  }
  return Make("project_created", team, user, event_time,
              absl::StrCat(R"(,"project_id":"p-)", team, "-", t.projects++, "\""));
}

}  // namespace nsmd
