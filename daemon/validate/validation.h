// Validate: scores a north star and its candidates on a PeriodTable.
#ifndef NSMD_DAEMON_VALIDATE_VALIDATION_H_
#define NSMD_DAEMON_VALIDATE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/validate/period_table.h"
#include "daemon/validate/series_stats.h"

namespace nsmd {

struct ValidationOptions {
  int max_lag = 4;           // lags 0..max_lag periods
  double threshold = 0.5;    // r at the best lag at least this: the metric leads
  double noise_band = 0.02;  // a change beyond 2% of the previous value "moves"
  int min_periods = 8;       // pairs a lag needs for its r to count
};

// One metric (the north star or a candidate) on the same tests.
struct MetricScore {
  const MetricSeries* metric = nullptr;
  LeadResult lead;    // against the validation metric
  Movement movement;  // of the metric itself
};

// An input's changes against the north star's.
struct DriverScore {
  const MetricSeries* input = nullptr;
  DriverResult result;
};

// Everything `nsmd validate` reports. Points into the table it was made
// from, which must outlive it.
struct ValidationResult {
  ValidationOptions options;
  const PeriodTable* table = nullptr;
  const MetricSeries* validation = nullptr;
  std::vector<MetricScore> scores;   // the north star first, then candidates
  std::vector<DriverScore> drivers;  // inputs (role input or focus)
};

// InvalidArgument, naming the flag, for options out of range: a negative
// max_lag, min_periods below 3, a negative noise band, a threshold outside
// [-1, 1].
absl::Status CheckOptions(const ValidationOptions& options);

// Scores the table's north star and candidates against its first
// validation metric. InvalidArgument if the table has no north star or no
// validation metric (e.g. skipped for a group_by), or CheckOptions fails.
absl::StatusOr<ValidationResult> Validate(const PeriodTable& table,
                                          const ValidationOptions& options);

// "leads by 2 weeks", "moves with it (lag 0)", "does not lead (best r 0.31
// < 0.5)", "not enough history (6 weeks; a lag needs 8)".
std::string LeadVerdictText(const MetricScore& score, const ValidationResult& result);

// "week", "day", ...: the table's period, for labels.
std::string PeriodName(const PeriodTable& table);

}  // namespace nsmd

#endif  // NSMD_DAEMON_VALIDATE_VALIDATION_H_
