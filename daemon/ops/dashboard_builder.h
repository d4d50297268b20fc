// DashboardBuilder: the Grafana dashboard of a config (`nsmd dashboard`),
// generated from its metric definitions so it never drifts from them.
#ifndef NSMD_DAEMON_OPS_DASHBOARD_BUILDER_H_
#define NSMD_DAEMON_OPS_DASHBOARD_BUILDER_H_

#include <string>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// Builds a classic Grafana dashboard model (schemaVersion 42) from a valid
// config. Every panel and target uses the datasource variable
// `${datasource}` and selects `job=~"$job"`; every panel has a title, a
// description and a unit. Top to bottom:
//  - North star: a stat of its current window with the previous window and
//    the change against the same point of the previous window; its time
//    series; a text panel with its description, customer value, decision
//    question, owner and cadence.
//  - Inputs: one time series per metric reached through `inputs`, in tree
//    order, indented by depth; the focus metric's title starts with "★";
//    a group-by metric draws one series per label value.
//  - Guardrails, then any metric not in the tree.
//  - nsmd health: events consumed/applied per second, rejected by reason,
//    late and duplicate rates, consumer lag, stream-time delay, checkpoint
//    duration (p99), ready.
// Annotations mark the north star's window boundaries (from
// nsm_metric_window_start_seconds). Panel queries read the recording rules
// of `nsmd rules` (nsm:metric_value...), so load those too.
// Holds a reference to `config`, which must outlive it.
class DashboardBuilder {
 public:
  explicit DashboardBuilder(const DaemonConfig& config) : config_(config) {}

  // The dashboard JSON, indented by two spaces, ending in a newline.
  std::string Build() const;

 private:
  const DaemonConfig& config_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_DASHBOARD_BUILDER_H_
