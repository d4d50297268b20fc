// RulesBuilder: the Prometheus recording and alerting rules of a config
// (`nsmd rules`), generated from its metric definitions so they never drift.
#ifndef NSMD_DAEMON_OPS_RULES_BUILDER_H_
#define NSMD_DAEMON_OPS_RULES_BUILDER_H_

#include <string>
#include <vector>

#include "daemon/config/daemon_config.h"
#include "daemon/ops/rule_group.h"

namespace nsmd {

// Builds these rule groups from a valid config:
//  - nsmd.recording: `nsm:metric_value` (nsm_metric_value of the nsmd
//    instances combined: the max over ready instances, since each instance
//    that is deployed counts every event; ratios recomputed from their
//    combined operands), `nsm:metric_value:change_vs_previous_window` per
//    metric (the current window against the same point of the previous
//    one), `nsm:metric_value:last_change_timestamp_seconds` of metrics with
//    a stall alert, and the daemon's health (`nsmd:consumer_lag:sum`,
//    `nsmd:stream_time_delay_seconds`, `nsmd:events_rejected:ratio_rate10m`
//    from summed rates, `nsmd:stalled`, `nsmd:lagging`,
//    `nsmd:instance_healthy`, `nsmd:pipeline_healthy`);
//  - nsmd.metric-alerts: per `alert:` block, NsmMetricDropped,
//    NsmMetricStalled, NsmMetricBelowThreshold, NsmMetricAboveThreshold,
//    each firing only while nsmd:pipeline_healthy == 1 (a drop the pipeline
//    causes is not the business');
//  - nsmd.daemon-alerts: NsmdDown, NsmdNotReady, NsmdNoEventsConsumed,
//    NsmdConsumerLagGrowing, NsmdStreamTimeStalled, NsmdCheckpointFailing,
//    NsmdReloadFailed, NsmdRejectedShareHigh; NsmdTaskOwnership when
//    instances split the partitions (one task per partition).
// Holds a reference to `config`, which must outlive it.
class RulesBuilder {
 public:
  explicit RulesBuilder(const DaemonConfig& config) : config_(config) {}

  // The groups above, in that order.
  std::vector<RuleGroup> Groups() const;

  // A Prometheus rule file (`groups:`), as promtool check rules reads it.
  std::string RuleFile() const;

  // The same groups as a monitoring.coreos.com/v1 PrometheusRule named
  // `name`, for the Prometheus Operator.
  std::string PrometheusRule(const std::string& name) const;

  // The names of the daemon alerts that mean the numbers cannot be trusted
  // (the pipeline is down, stalled, lagging or not ready): the sources of
  // the Alertmanager inhibit rule.
  static std::vector<std::string> PipelineAlertNames();

  // The names of the metric alerts (the inhibit rule's targets).
  static std::vector<std::string> MetricAlertNames();

 private:
  RuleGroup Recording() const;
  RuleGroup MetricAlerts() const;
  RuleGroup DaemonAlerts() const;
  // Metric alert labels and annotations shared by every alert of `metric`.
  Rule MetricAlert(const MetricDefinition& metric, const AlertSpec& alert, const std::string& name,
                   const std::string& summary) const;
  // Every metric the `inputs` of `metric` reach, recursively, in tree order.
  std::vector<std::string> InputsBelow(const MetricDefinition& metric) const;
  const MetricDefinition* Find(const std::string& name) const;

  const DaemonConfig& config_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_RULES_BUILDER_H_
