// SaasEventModel: realistic product events of a team-collaboration SaaS.
#ifndef NSMD_DAEMON_SOURCE_SAAS_EVENT_MODEL_H_
#define NSMD_DAEMON_SOURCE_SAAS_EVENT_MODEL_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace nsmd {

// Generates Segment `track` events of a team-collaboration product, the
// stream the demo, the load generator and the benchmarks use. Teams differ
// in size (mostly small, a few large), engagement and plan (free, team,
// enterprise); a fifth of them exist from the start and the rest appear over
// time, each announced by a `team_created` event from its first user, so
// cohort weeks differ. Activity: file_edited, comment_added, page_viewed
// (with properties.duration_ms), project_created. Deterministic for a seed.
// Not thread-safe.
class SaasEventModel {
 public:
  struct GeneratedEvent {
    std::string key;   // the userId: real pipelines key events by user
    std::string json;  // about 200-300 bytes
  };

  SaasEventModel(int teams, uint64_t seed, absl::Time start);

  // The next event, stamped `event_time` (ISO-8601 UTC, milliseconds).
  GeneratedEvent Next(absl::Time event_time);

 private:
  struct Team {
    int size = 1;
    double engagement = 1;
    const char* plan = "free";
    int projects = 0;
  };
  void AddTeam();
  GeneratedEvent Make(const char* event, int team, int user, absl::Time t,
                      const std::string& extra_properties);

  std::mt19937_64 rng_;
  uint64_t seed_;
  int max_teams_;
  std::vector<Team> teams_;
  std::vector<int> pending_creation_;  // teams created but not yet announced
  std::vector<double> weights_;        // activity weight per team
  std::discrete_distribution<int> pick_team_;
  uint64_t counter_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_SAAS_EVENT_MODEL_H_
