#include "daemon/validate/validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/base/status_macros.h"

namespace nsmd {

absl::Status CheckOptions(const ValidationOptions& options) {
  if (options.max_lag < 0) return absl::InvalidArgumentError("--max-lag must be 0 or more");
  if (options.min_periods < 3) return absl::InvalidArgumentError("--min-periods must be 3 or more");
  if (!(options.noise_band >= 0)) {
    return absl::InvalidArgumentError("--noise-band must be 0 or more");
  }
  if (!(options.threshold >= -1 && options.threshold <= 1)) {
    return absl::InvalidArgumentError("--threshold must be between -1 and 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<ValidationResult> Validate(const PeriodTable& table,
                                          const ValidationOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  ValidationResult out;
  out.options = options;
  out.table = &table;
  const MetricSeries* north_star = nullptr;
  for (const MetricSeries& m : table.metrics) {
    if (m.metadata.role == MetricRole::kNorthStar) north_star = &m;
    if (m.metadata.role == MetricRole::kValidation && out.validation == nullptr) {
      out.validation = &m;
    }
  }
  if (north_star == nullptr) {
    return absl::InvalidArgumentError("the north star has no single series to validate");
  }
  if (out.validation == nullptr) {
    return absl::InvalidArgumentError(
        "no metric has role validation (with a single series): add one, e.g. revenue as a sum "
        "over order events, for the north star to be checked against");
  }
  auto score = [&](const MetricSeries& m) {
    out.scores.push_back({&m,
                          LeadTest(m.values, out.validation->values, options.max_lag,
                                   options.threshold, options.min_periods),
                          MeasureMovement(m.values, options.noise_band)});
  };
  score(*north_star);
  for (const MetricSeries& m : table.metrics) {
    if (m.metadata.role == MetricRole::kCandidate) score(m);
  }
  for (const MetricSeries& m : table.metrics) {
    if (m.metadata.role == MetricRole::kInput || m.metadata.role == MetricRole::kFocus) {
      out.drivers.push_back({&m, DriverTest(m.values, north_star->values)});
    }
  }
  return out;
}

std::string PeriodName(const PeriodTable& table) {
  return std::string(CalendarUnitName(table.cadence));
}

std::string LeadVerdictText(const MetricScore& score, const ValidationResult& result) {
  const LeadResult& lead = score.lead;
  const std::string period = PeriodName(*result.table);
  const std::string validation = result.validation->name;
  switch (lead.verdict) {
    case LeadResult::Verdict::kLeads:
      return absl::StrFormat("leads %s by %d %s%s (r %.2f over %d %ss)", validation, lead.best_lag,
                             period, lead.best_lag == 1 ? "" : "s", *lead.best.r, lead.best.pairs,
                             period);
    case LeadResult::Verdict::kMovesWith:
      return absl::StrFormat("moves with %s, no lead (r %.2f at lag 0 over %d %ss)", validation,
                             *lead.best.r, lead.best.pairs, period);
    case LeadResult::Verdict::kDoesNotLead:
      return absl::StrFormat("does not lead %s (best r %.2f at lag %d < %.2f, over %d %ss)",
                             validation, *lead.best.r, lead.best_lag, result.options.threshold,
                             lead.best.pairs, period);
    case LeadResult::Verdict::kNotEnoughHistory: break;
  }
  return absl::StrFormat(
      "not enough history (%d %ss; each lag needs %d pairs with a varying series)",
      static_cast<int>(result.table->period_starts_ms.size()), period, result.options.min_periods);
}

}  // namespace nsmd
