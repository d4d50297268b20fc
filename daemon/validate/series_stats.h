// The statistics of `nsmd validate`: Pearson correlation, lag profiles,
// movement and change correlations over per-period series.
#ifndef NSMD_DAEMON_VALIDATE_SERIES_STATS_H_
#define NSMD_DAEMON_VALIDATE_SERIES_STATS_H_

#include <optional>
#include <vector>

namespace nsmd {

// One value per cadence period, oldest first. NaN marks a period without a
// value (e.g. a ratio whose denominator was 0, a cohort still maturing):
// every statistic skips the pairs it touches.
using PeriodSeries = std::vector<double>;

// A correlation and how many (x, y) pairs it used. `r` is empty when it is
// undefined: fewer than 2 pairs, or one side constant over the pairs used.
struct Correlation {
  std::optional<double> r;
  int pairs = 0;
};

// Pearson's r of x[i] and y[i] over the indices where both are present
// (sizes may differ: indices beyond the shorter are ignored).
// Example: x = 1,2,3,4 and y = 2,4,5,9 give r = 0.9648 over 4 pairs.
Correlation Pearson(const PeriodSeries& x, const PeriodSeries& y);

// Pearson's r of x[t] and y[t + lag] (lag >= 0): x leads y by `lag`
// periods when this is high. Uses the pairs where t + lag is in range.
Correlation LaggedPearson(const PeriodSeries& x, const PeriodSeries& y, int lag);

// Period-over-period changes: out[t] = s[t] - s[t-1] for t >= 1 (NaN if
// either is missing); one shorter than `s` (empty for fewer than 2).
PeriodSeries Changes(const PeriodSeries& s);

// How a north star (or candidate) leads the validation metric.
struct LeadResult {
  enum class Verdict {
    kLeads,             // best r >= threshold at a lag of 1 period or more
    kMovesWith,         // best r >= threshold at lag 0 only: coincident, not leading
    kDoesNotLead,       // r defined at some lag, but below threshold at every lag
    kNotEnoughHistory,  // no lag has min_pairs pairs with a defined r
  };
  std::vector<Correlation> profile;  // index = lag, 0..max_lag
  int best_lag = -1;                 // -1 with kNotEnoughHistory
  Correlation best;                  // r at best_lag
  Verdict verdict = Verdict::kNotEnoughHistory;
};

// LaggedPearson(metric, validation, lag) for lag 0..max_lag; a lag counts
// only with at least `min_pairs` pairs and a defined r. The best lag is the
// one with the highest r (the smallest such lag on ties); the verdict
// compares that r with `threshold`.
LeadResult LeadTest(const PeriodSeries& metric, const PeriodSeries& validation, int max_lag,
                    double threshold, int min_pairs);

// How often a series moves.
struct Movement {
  int changes = 0;  // consecutive present pairs (s[t-1], s[t])
  int moved = 0;    // of those, with |s[t] - s[t-1]| > noise_band * |s[t-1]|
  // moved / changes; empty without changes.
  std::optional<double> share_moved;
  // Population standard deviation / mean of the present values; empty for
  // no values or a mean of 0.
  std::optional<double> coefficient_of_variation;
};

// `noise_band` is relative (0.02: a change of more than 2% of the previous
// value). From a previous value of 0, any change other than none counts.
Movement MeasureMovement(const PeriodSeries& s, double noise_band);

// How an input's changes go with the north star's changes: r of
// Δinput[t] and Δnsm[t] (same period) and of Δinput[t] and Δnsm[t+1]
// (the input's change followed by the north star's in the next period).
struct DriverResult {
  Correlation same_period;
  Correlation next_period;
};
DriverResult DriverTest(const PeriodSeries& input, const PeriodSeries& north_star);

}  // namespace nsmd

#endif  // NSMD_DAEMON_VALIDATE_SERIES_STATS_H_
