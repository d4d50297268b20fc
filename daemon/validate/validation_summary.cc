#include <cstddef>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "daemon/validate/validation_report.h"

namespace nsmd {
namespace {

std::string Day(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Fixed(const std::optional<double>& v, const absl::FormatSpec<double>& format) {
  return v ? absl::StrFormat(format, *v) : std::string("-");
}

}  // namespace

absl::string_view VerdictName(LeadResult::Verdict verdict) {
  switch (verdict) {
    case LeadResult::Verdict::kLeads: return "leads";
    case LeadResult::Verdict::kMovesWith: return "moves_with";
    case LeadResult::Verdict::kDoesNotLead: return "does_not_lead";
    case LeadResult::Verdict::kNotEnoughHistory: return "not_enough_history";
  }
  return "not_enough_history";
}

std::string ValidationSummary(const ValidationResult& result) {
  const PeriodTable& table = *result.table;
  const std::string period = PeriodName(table);
  std::string out;
  if (table.period_starts_ms.empty()) {
    absl::StrAppend(&out, "no complete ", period, " in the history\n");
  } else {
    absl::StrAppend(&out, table.period_starts_ms.size(), " complete ", period, "s, ",
                    Day(table.period_starts_ms.front()), " to ", Day(table.end_ms),
                    "; validation metric: ", result.validation->name, "\n");
  }
  absl::StrAppend(&out, "\n");
  absl::StrAppend(&out, absl::StrFormat("%-10s %-28s %7s %6s  %s\n", "role", "metric",
                                        absl::StrFormat("moved%%"), "CV",
                                        absl::StrCat("leads ", result.validation->name, "?")));
  for (const MetricScore& s : result.scores) {
    const std::optional<double> share = s.movement.share_moved
                                            ? std::optional<double>(*s.movement.share_moved * 100)
                                            : std::nullopt;
    absl::StrAppend(
        &out, absl::StrFormat("%-10s %-28s %7s %6s  %s\n", MetricRoleName(s.metric->metadata.role),
                              s.metric->name, Fixed(share, "%.0f"),
                              Fixed(s.movement.coefficient_of_variation, "%.2f"),
                              LeadVerdictText(s, result)));
  }
  absl::StrAppend(
      &out, absl::StrFormat("(moved%%: share of %s-over-%s changes beyond %.1f%%; CV: "
                            "coefficient of variation; lead: best r at lags 0..%d >= %.2f)\n",
                            period, period, result.options.noise_band * 100, result.options.max_lag,
                            result.options.threshold));
  if (!result.drivers.empty()) {
    absl::StrAppend(&out, "\ninputs: r of each input's change with the north star's change\n");
    absl::StrAppend(&out,
                    absl::StrFormat("%-28s %12s %12s\n", "input", absl::StrCat("same ", period),
                                    absl::StrCat("next ", period)));
    for (const DriverScore& d : result.drivers) {
      absl::StrAppend(&out, absl::StrFormat("%-28s %12s %12s\n", d.input->name,
                                            Fixed(d.result.same_period.r, "%.2f"),
                                            Fixed(d.result.next_period.r, "%.2f")));
    }
  }
  for (const auto& [metric, reason] : table.skipped) {
    absl::StrAppend(&out, "skipped ", metric, ": ", reason, "\n");
  }
  return out;
}

}  // namespace nsmd
