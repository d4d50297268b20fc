// How long a metric's windows last and how long its alerts wait, in the
// forms the generated Prometheus rules and dashboards need.
#ifndef NSMD_DAEMON_OPS_WINDOW_TIMING_H_
#define NSMD_DAEMON_OPS_WINDOW_TIMING_H_

#include <string>

#include "absl/time/time.h"
#include "daemon/config/alert_spec.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// The distance from a point of the current window to the same point of the
// previous one: a tumbling unit (a month counts 30 days, so the same point
// of the previous month is off by up to a day), a rolling window's length, a
// cohort's period; for a lifetime window, one cadence period.
absl::Duration WindowLength(const MetricDefinition& metric);

// One period of a cadence: hourly 1h, daily 1d, weekly 1w, monthly 30d,
// quarterly 91d; anything else 1d.
absl::Duration CadencePeriod(const std::string& cadence);

// The `for:` of a metric's alerts: the alert's own, else from the cadence
// (hourly 15m, daily 1h, weekly 6h, monthly 1d, quarterly 3d, else 1h), so a
// weekly metric is not paged on for one bad hour, and never less than 15m,
// longer than a restart of nsmd takes.
absl::Duration AlertFor(const MetricDefinition& metric, const AlertSpec& alert);

// A duration as PromQL writes it, in its largest whole unit: 1w, 30d, 6h,
// 15m, 90s (sub-second parts are dropped; zero is "0s").
std::string PromDuration(absl::Duration d);

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_WINDOW_TIMING_H_
