// SaasEvents: a fixed sample of realistic Segment events for benchmarks,
// from the same model as the demo generator and the load generator.
#ifndef NSMD_BENCHMARKS_SAAS_EVENTS_H_
#define NSMD_BENCHMARKS_SAAS_EVENTS_H_

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "daemon/source/saas_event_model.h"

namespace nsmd {

// `n` events of `teams` teams, one every `spacing` of event time from
// 2024-01-01T00:00Z, as JSON texts (seeded: the same on every run).
inline std::vector<std::string> SaasEventTexts(int n, int teams = 300,
                                               absl::Duration spacing = absl::Seconds(1)) {
  const absl::Time start =
      absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  SaasEventModel model(teams, /*seed=*/42, start);
  std::vector<std::string> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(model.Next(start + i * spacing).json);
  return out;
}

}  // namespace nsmd

#endif  // NSMD_BENCHMARKS_SAAS_EVENTS_H_
