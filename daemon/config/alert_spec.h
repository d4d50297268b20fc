// AlertSpec: what a metric's `alert:` block asks the generated Prometheus
// rules to watch; AlertingConfig: the config's top-level `alerting:` section.
#ifndef NSMD_DAEMON_CONFIG_ALERT_SPEC_H_
#define NSMD_DAEMON_CONFIG_ALERT_SPEC_H_

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace nsmd {

struct AlertSpec {
  // Fire when the current window is more than this many percent below its
  // baseline (0 < drop_percent <= 100); unset: no drop alert.
  std::optional<double> drop_percent;
  // The baseline: unset compares with the previous window at the same point
  // of its course (the current window offset by one window length, so a
  // partial window meets a partial window); set, with the current window
  // this long ago (e.g. 4w, 52w).
  std::optional<absl::Duration> compare_to;
  // Fire when the value has not changed for this many windows; 0: never.
  int stall_windows = 0;
  // Fire when the current value is below / above these.
  std::optional<double> below;
  std::optional<double> above;
  // How long a condition must hold before the alert fires; unset: derived
  // from the metric's cadence.
  std::optional<absl::Duration> for_duration;
  std::string severity = "warning";           // critical | warning | info
  std::map<std::string, std::string> labels;  // extra routing labels
};

struct AlertingConfig {
  // Base URLs the generated alerts link to; the runbook gets
  // "#<alertname in lower case>" appended. Empty: no link.
  std::string runbook_url;
  std::string dashboard_url;
  // The daemon alert on rejected messages fires above this share of the
  // messages consumed.
  double rejected_share = 0.05;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_ALERT_SPEC_H_
