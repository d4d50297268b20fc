#include "daemon/validate/series_stats.h"

#include <cmath>
#include <cstddef>

namespace nsmd {
namespace {

bool Present(double v) { return !std::isnan(v); }

// Pearson's r of x[i] and y[i + lag] over present pairs. Two passes (means,
// then centred sums) rather than the one-pass formula, which cancels badly
// for large values with small variation.
Correlation PearsonFrom(const PeriodSeries& x, const PeriodSeries& y, int lag) {
  Correlation out;
  double sx = 0, sy = 0;
  for (size_t i = 0; i < x.size() && i + lag < y.size(); ++i) {
    if (!Present(x[i]) || !Present(y[i + lag])) continue;
    sx += x[i];
    sy += y[i + lag];
    ++out.pairs;
  }
  if (out.pairs < 2) return out;
  const double mx = sx / out.pairs, my = sy / out.pairs;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size() && i + lag < y.size(); ++i) {
    if (!Present(x[i]) || !Present(y[i + lag])) continue;
    const double dx = x[i] - mx, dy = y[i + lag] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return out;  // a constant side: r is undefined
  out.r = sxy / std::sqrt(sxx * syy);
  return out;
}

}  // namespace

Correlation Pearson(const PeriodSeries& x, const PeriodSeries& y) { return PearsonFrom(x, y, 0); }

Correlation LaggedPearson(const PeriodSeries& x, const PeriodSeries& y, int lag) {
  return PearsonFrom(x, y, lag);
}

PeriodSeries Changes(const PeriodSeries& s) {
  PeriodSeries out;
  for (size_t t = 1; t < s.size(); ++t) out.push_back(s[t] - s[t - 1]);  // NaN propagates
  return out;
}

LeadResult LeadTest(const PeriodSeries& metric, const PeriodSeries& validation, int max_lag,
                    double threshold, int min_pairs) {
  LeadResult out;
  for (int lag = 0; lag <= max_lag; ++lag) {
    out.profile.push_back(LaggedPearson(metric, validation, lag));
    const Correlation& c = out.profile.back();
    if (!c.r || c.pairs < min_pairs) continue;
    if (out.best_lag < 0 || *c.r > *out.best.r) {
      out.best_lag = lag;
      out.best = c;
    }
  }
  if (out.best_lag < 0) {
    out.verdict = LeadResult::Verdict::kNotEnoughHistory;
  } else if (*out.best.r < threshold) {
    out.verdict = LeadResult::Verdict::kDoesNotLead;
  } else {
    out.verdict = out.best_lag > 0 ? LeadResult::Verdict::kLeads : LeadResult::Verdict::kMovesWith;
  }
  return out;
}

Movement MeasureMovement(const PeriodSeries& s, double noise_band) {
  Movement out;
  double sum = 0;
  int n = 0;
  for (size_t t = 0; t < s.size(); ++t) {
    if (!Present(s[t])) continue;
    sum += s[t];
    ++n;
    if (t == 0 || !Present(s[t - 1])) continue;
    ++out.changes;
    if (std::fabs(s[t] - s[t - 1]) > noise_band * std::fabs(s[t - 1])) ++out.moved;
  }
  if (out.changes > 0) out.share_moved = static_cast<double>(out.moved) / out.changes;
  if (n > 0 && sum != 0) {
    const double mean = sum / n;
    double ss = 0;
    for (double v : s) {
      if (Present(v)) ss += (v - mean) * (v - mean);
    }
    out.coefficient_of_variation = std::sqrt(ss / n) / std::fabs(mean);
  }
  return out;
}

DriverResult DriverTest(const PeriodSeries& input, const PeriodSeries& north_star) {
  const PeriodSeries di = Changes(input), dn = Changes(north_star);
  return {Pearson(di, dn), LaggedPearson(di, dn, 1)};
}

}  // namespace nsmd
