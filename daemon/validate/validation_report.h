// The three renderings of a ValidationResult: stdout summary, JSON, HTML.
#ifndef NSMD_DAEMON_VALIDATE_VALIDATION_REPORT_H_
#define NSMD_DAEMON_VALIDATE_VALIDATION_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "daemon/validate/validation.h"

namespace nsmd {

// A one-screen plain-text summary: periods, the lead verdict, movement of
// the north star and each candidate side by side, the inputs' change
// correlations, skipped metrics (validation_summary.cc).
std::string ValidationSummary(const ValidationResult& result);

// The same figures and every series as one JSON object (validation_json.cc):
// {"cadence","periods":[ISO starts],"end" (null without periods),
//  "options":{...},"validation",
//  "series":[{"metric","role","reading","customer_value",
//  "decision_question","values":[number|null]}],
//  "scores":[{"metric","role","verdict","verdict_text","best_lag","r",
//  "pairs","lag_profile":[{"lag","r","pairs"}],"moved","changes",
//  "share_moved","coefficient_of_variation"}],
//  "drivers":[{"input","same_period":{"r","pairs"},"next_period":{...}}],
//  "skipped":[{"metric","reason"}]}. An undefined r or share is null.
std::string ValidationJson(const ValidationResult& result);

// A self-contained HTML page (no external assets, no script): the tables,
// an inline SVG line chart per series and one of the lag profiles, each
// metric's customer value and decision question (validation_html.cc).
// `title` names the config.
std::string ValidationHtml(const ValidationResult& result, absl::string_view title);

// "leads", "moves_with", "does_not_lead", "not_enough_history".
absl::string_view VerdictName(LeadResult::Verdict verdict);

}  // namespace nsmd

#endif  // NSMD_DAEMON_VALIDATE_VALIDATION_REPORT_H_
