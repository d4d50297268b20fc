#include "daemon/ops/rules_builder.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/config/task_layout.h"
#include "daemon/engine/group_index.h"
#include "daemon/ops/window_timing.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {
namespace {

// True if `config` runs one task per partition, so instances add up.
bool TasksPerPartition(const DaemonConfig& config) {
  return TaskLayoutOf(config) != TaskLayout::kWholeInput;
}

// How far back a stalled stream and a growing lag are looked for.
constexpr char kStallRange[] = "10m";
constexpr char kLagRange[] = "15m";

std::string Selector(const std::string& name, const std::string& window) {
  return absl::StrCat("nsm:metric_value{metric=\"", name, "\", window=\"", window, "\"}");
}

// Metric alerts fire only while some nsmd instance of the job is healthy.
std::string Gated(const std::string& condition) {
  return absl::StrCat("(\n  ", condition, "\n)\nand on (job) (nsmd:pipeline_healthy == 1)");
}

// `for` windows with a complete previous value: tumbling and cohort.
bool HasPrevious(const MetricDefinition& m) {
  return m.window.kind == WindowKind::kTumbling || m.window.kind == WindowKind::kCohort;
}

std::string Percent(double v) { return absl::StrCat(v); }

// The instances' sum of the nsm_metric_value series `values`, over the
// instances that show the newest window (during a rollover an instance that
// has not reached it yet is left out, not mixed in).
std::string AlignedSum(const std::string& values) {
  return absl::StrCat("sum without (instance, pod) (\n  ", values,
                      "\n  and on (job, instance, metric, window)\n  (\n"
                      "    nsm_metric_window_start_seconds\n"
                      "    == on (job, metric, window) group_left\n"
                      "    max by (job, metric, window) (nsm_metric_window_start_seconds)\n  )\n)");
}

// A group-by metric's combined series from `sum` (the instances' sum): the
// max_series label sets of lowest nsm_metric_series_rank kept, the others
// and each instance's "__other__" added up into "__other__" (SeriesRank).
std::string Folded(const MetricDefinition& m, const std::string& sum) {
  std::vector<std::string> labels;
  for (const GroupBy& g : m.group_by) labels.push_back(g.label);
  const std::string on = absl::StrCat("on (job, ", absl::StrJoin(labels, ", "), ")");
  const std::string kept = absl::StrCat(
      "bottomk by (job) (", m.max_series > 0 ? m.max_series : kDefaultMaxSeries,
      ", max without (instance, pod) (nsm_metric_series_rank{metric=\"", m.name, "\"}))");
  std::string other = absl::StrCat("sum without (", absl::StrJoin(labels, ", "), ") (\n  ", sum,
                                   "\n  unless ", on, "\n  ", kept, "\n)");
  for (const std::string& label : labels) {
    other = absl::StrCat("label_replace(\n", other, ",\n\"", label, "\", \"",
                         GroupIndex::kOtherValue, "\", \"\", \"\")");
  }
  return absl::StrCat("# ", m.name, ": the instances' sum, folded past max_series by rank as\n",
                      "# one instance holding every task folds it.\n(\n", sum, "\nand ", on, "\n",
                      kept, "\n)\nor\n", other);
}

}  // namespace

std::vector<std::string> RulesBuilder::PipelineAlertNames() {
  return {"NsmdDown", "NsmdNotReady", "NsmdNoEventsConsumed", "NsmdConsumerLagGrowing",
          "NsmdStreamTimeStalled"};
}

std::vector<std::string> RulesBuilder::MetricAlertNames() {
  return {"NsmMetricDropped", "NsmMetricStalled", "NsmMetricBelowThreshold",
          "NsmMetricAboveThreshold"};
}

const MetricDefinition* RulesBuilder::Find(const std::string& name) const {
  for (const MetricDefinition& m : config_.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> RulesBuilder::InputsBelow(const MetricDefinition& metric) const {
  std::vector<std::string> out;
  std::set<std::string> seen = {metric.name};
  std::vector<const MetricDefinition*> stack = {&metric};
  while (!stack.empty()) {
    const MetricDefinition* m = stack.back();
    stack.pop_back();
    // Reversed, so the stack pops them in the order they are listed.
    for (auto it = m->metadata.inputs.rbegin(); it != m->metadata.inputs.rend(); ++it) {
      const MetricDefinition* input = Find(*it);
      if (input == nullptr || !seen.insert(*it).second) continue;
      out.push_back(*it);
      stack.push_back(input);
    }
  }
  return out;
}

RuleGroup RulesBuilder::Recording() const {
  RuleGroup g{"nsmd.recording", "", {}};
  // Ratios in an order where each comes after the ratios it divides.
  std::vector<const MetricDefinition*> ratios;
  std::set<std::string> placed;
  for (bool progress = true; progress;) {
    progress = false;
    for (const MetricDefinition& m : config_.metrics) {
      if (m.measure.kind != MeasureKind::kRatio || placed.contains(m.name)) continue;
      bool ready = true;
      for (const std::string& operand : {m.measure.numerator, m.measure.denominator}) {
        const MetricDefinition* o = Find(operand);
        ready &= o == nullptr || o->measure.kind != MeasureKind::kRatio || placed.contains(operand);
      }
      if (!ready) continue;
      ratios.push_back(&m);
      placed.insert(m.name);
      progress = true;
    }
  }
  std::vector<std::string> ratio_names;
  for (const MetricDefinition* m : ratios) ratio_names.push_back(m->name);
  // nsm_metric_value of the metrics not in `except`.
  auto values_except = [](const std::vector<std::string>& except) {
    return except.empty()
               ? std::string("nsm_metric_value")
               : absl::StrCat("nsm_metric_value{metric!~\"", absl::StrJoin(except, "|"), "\"}");
  };
  std::string combined;
  std::vector<Rule> folded;
  if (TasksPerPartition(config_)) {
    // One task per partition (KeyPartitioning): each instance exports the
    // tasks it owns, and the instances' values add up. A rolling window
    // ends at each instance's own stream time, so its start differs from
    // instance to instance by the gaps between their newest events: those
    // are added up as they are. Group-by metrics fold their sum again.
    std::vector<std::string> rolling_names;
    std::vector<std::string> except = ratio_names;
    for (const MetricDefinition& m : config_.metrics) {
      if (m.measure.kind == MeasureKind::kRatio) continue;
      const bool rolling = m.window.kind == WindowKind::kRolling;
      if (!m.group_by.empty()) {
        const std::string values = absl::StrCat("nsm_metric_value{metric=\"", m.name, "\"}");
        const std::string sum = rolling ? absl::StrCat("sum without (instance, pod) (", values, ")")
                                        : AlignedSum(values);
        folded.push_back({"nsm:metric_value", "", Folded(m, sum), "", {{"metric", m.name}}, {}});
        except.push_back(m.name);
      } else if (rolling) {
        rolling_names.push_back(m.name);
        except.push_back(m.name);
      }
    }
    combined = absl::StrCat(
        "# Each instance exports the partitions it owns: add them up, over the\n"
        "# instances that show the newest window (during a rollover an instance\n"
        "# that has not reached it yet is left out, not mixed in).\n",
        AlignedSum(values_except(except)));
    if (!rolling_names.empty()) {
      absl::StrAppend(&combined,
                      "\nor\n# Rolling windows end at each instance's stream time: add them "
                      "up.\nsum without (instance, pod) (nsm_metric_value{metric=~\"",
                      absl::StrJoin(rolling_names, "|"), "\"})");
    }
  } else {
    // Every instance computes everything: take the ready ones' value.
    const std::string raw = values_except(ratio_names);
    combined =
        absl::StrCat("# Each deployed instance counts every event: take the ready ones' value.\n",
                     "max without (instance, pod) (\n  ", raw,
                     " and on (job, instance) (nsmd_ready == 1)\n)\nor\nmax without "
                     "(instance, pod) (",
                     raw, ")");
  }
  g.rules.push_back({"nsm:metric_value", "", combined, "", {}, {}});
  g.rules.insert(g.rules.end(), folded.begin(), folded.end());
  for (const MetricDefinition* m : ratios) {
    g.rules.push_back(
        {"nsm:metric_value",
         "",
         absl::StrCat("# ", m->name, " = ", m->measure.numerator, " / ", m->measure.denominator,
                      ", from the combined operands\nnsm:metric_value{metric=\"",
                      m->measure.numerator, "\"}\n/ ignoring (metric)\n(nsm:metric_value{metric=\"",
                      m->measure.denominator, "\"} > 0)"),
         "",
         {{"metric", m->name}},
         {}});
  }
  for (const MetricDefinition& m : config_.metrics) {
    const std::string current = Selector(m.name, "current");
    g.rules.push_back({"nsm:metric_value:change_vs_previous_window",
                       "",
                       absl::StrCat(current, "\n/\n(", current, " offset ",
                                    PromDuration(WindowLength(m)), " > 0)\n- 1"),
                       "",
                       {{"metric", m.name}},
                       {}});
  }
  // When each metric with a stall alert last changed: now if it changed in
  // the last hour (seen at any evaluation interval up to an hour), else the time recorded before
  // (the rule reads its own output), else now (Prometheus has just started: the stall is counted
  // from here). Constant cost, unlike changes() over weeks of samples.
  for (const MetricDefinition& m : config_.metrics) {
    auto it = config_.alerts.find(m.name);
    if (it == config_.alerts.end() || it->second.stall_windows == 0) continue;
    const std::string current = Selector(m.name, "current");
    g.rules.push_back({"nsm:metric_value:last_change_timestamp_seconds",
                       "",
                       absl::StrCat("(changes(", current,
                                    "[1h]) > 0) * 0 + time()\nor\nlast_over_time("
                                    "nsm:metric_value:last_change_timestamp_seconds{metric=\"",
                                    m.name, "\"}[2h])\nor\n", current, " * 0 + time()"),
                       "",
                       {{"metric", m.name}},
                       {}});
  }
  g.rules.push_back({"nsmd:consumer_lag:sum",
                     "",
                     "sum without (topic, partition) (nsmd_consumer_lag)",
                     "",
                     {},
                     {}});
  g.rules.push_back(
      {"nsmd:stream_time_delay_seconds", "", "time() - nsmd_stream_time_seconds", "", {}, {}});
  g.rules.push_back({"nsmd:events_rejected:ratio_rate10m",
                     "",
                     "# A ratio of summed rates: right for any number of instances.\n"
                     "sum by (job) (rate(nsmd_events_rejected_total[10m]))\n/\n"
                     "(sum by (job) (rate(nsmd_events_consumed_total[10m])) > 0)",
                     "",
                     {},
                     {}});
  g.rules.push_back(
      {"nsmd:stalled",
       "",
       absl::StrCat("# 1: messages wait but stream time has not moved for ", kStallRange, ".\n",
                    "(nsmd:consumer_lag:sum > bool 0)\n* on (job, instance)\n"
                    "(changes(nsmd_stream_time_seconds[",
                    kStallRange, "]) == bool 0)"),
       "",
       {},
       {}});
  g.rules.push_back(
      {"nsmd:lagging",
       "",
       absl::StrCat("# 1: more than a minute of consumption behind, and further behind than ",
                    kLagRange, " ago.\n(delta(nsmd:consumer_lag:sum[", kLagRange,
                    "]) > bool 0)\n* on (job, instance)\n(nsmd:consumer_lag:sum > bool on (job, "
                    "instance) 60 * rate(nsmd_events_consumed_total[",
                    kLagRange, "]))"),
       "",
       {},
       {}});
  // A signal that is missing (no partitions, too few samples for a rate)
  // does not make an instance unhealthy; only not ready, stalled or lagging.
  g.rules.push_back({"nsmd:instance_healthy",
                     "",
                     "(nsmd_ready == bool 1)\nunless on (job, instance) (nsmd:stalled == 1 or "
                     "nsmd:lagging == 1)\nor on (job, instance)\nnsmd_ready * 0",
                     "",
                     {},
                     {}});
  g.rules.push_back(
      {"nsmd:pipeline_healthy", "", "max by (job) (nsmd:instance_healthy)", "", {}, {}});
  return g;
}

Rule RulesBuilder::MetricAlert(const MetricDefinition& metric, const AlertSpec& alert,
                               const std::string& name, const std::string& summary) const {
  Rule r;
  r.alert = name;
  r.for_duration = PromDuration(AlertFor(metric, alert));
  r.labels.emplace_back("severity", alert.severity);
  if (!metric.metadata.owner.empty()) r.labels.emplace_back("owner", metric.metadata.owner);
  r.labels.emplace_back("role", std::string(MetricRoleName(metric.metadata.role)));
  for (const auto& [k, v] : alert.labels) r.labels.emplace_back(k, v);
  r.annotations.emplace_back("summary", summary);
  const MetricMetadata& md = metric.metadata;
  for (const auto& [key, text] :
       {std::pair<const char*, const std::string*>{"description", &md.description},
        {"customer_value", &md.customer_value},
        {"decision_question", &md.decision_question}}) {
    if (!text->empty()) r.annotations.emplace_back(key, *text);
  }
  const std::vector<std::string> inputs = InputsBelow(metric);
  if (!inputs.empty()) {
    r.annotations.emplace_back(
        "inputs_also_falling",
        absl::StrCat("{{ range query `nsm:metric_value:change_vs_previous_window{metric=~\"",
                     absl::StrJoin(inputs, "|"),
                     "\", window=\"current\"} < 0` }}{{ .Labels.metric }} {{ .Value | "
                     "humanizePercentage }}; {{ else }}none{{ end }}"));
  }
  if (!config_.alerting.runbook_url.empty()) {
    r.annotations.emplace_back("runbook_url", absl::StrCat(config_.alerting.runbook_url, "#",
                                                           absl::AsciiStrToLower(name)));
  }
  if (!config_.alerting.dashboard_url.empty()) {
    r.annotations.emplace_back("dashboard_url", config_.alerting.dashboard_url);
  }
  return r;
}

RuleGroup RulesBuilder::MetricAlerts() const {
  RuleGroup g{"nsmd.metric-alerts", "", {}};
  for (const MetricDefinition& m : config_.metrics) {
    auto it = config_.alerts.find(m.name);
    if (it == config_.alerts.end()) continue;
    const AlertSpec& a = it->second;
    const std::string current = Selector(m.name, "current");
    if (a.drop_percent) {
      const double fraction = *a.drop_percent / 100;
      std::string condition, baseline;
      if (a.compare_to) {
        baseline = absl::StrCat("the same point ", PromDuration(*a.compare_to), " ago");
        condition = absl::StrCat(current, " / (", current, " offset ", PromDuration(*a.compare_to),
                                 " > 0) - 1 < -", fraction);
      } else {
        baseline = "the same point of the previous window";
        condition = absl::StrCat("nsm:metric_value:change_vs_previous_window{metric=\"", m.name,
                                 "\", window=\"current\"} < -", fraction);
      }
      Rule r =
          MetricAlert(m, a, "NsmMetricDropped",
                      absl::StrCat(m.name, " is {{ $value | humanizePercentage }} against ",
                                   baseline, " (alert below -", Percent(*a.drop_percent), "%)"));
      r.expr = Gated(condition);
      g.rules.push_back(std::move(r));
    }
    if (a.stall_windows > 0) {
      const absl::Duration range = a.stall_windows * WindowLength(m);
      Rule r = MetricAlert(m, a, "NsmMetricStalled",
                           absl::StrCat(m.name,
                                        " has not changed for {{ $value | "
                                        "humanizeDuration }} (alert after ",
                                        a.stall_windows, " windows, ", PromDuration(range),
                                        ") while nsmd is healthy"));
      r.expr =
          Gated(absl::StrCat("time() - nsm:metric_value:last_change_timestamp_seconds{metric=\"",
                             m.name, "\"} > ", absl::ToInt64Seconds(range)));
      g.rules.push_back(std::move(r));
    }
    // Thresholds judge complete windows where there are some: a current
    // window is partial, and low early in every window.
    const std::string judged = Selector(m.name, HasPrevious(m) ? "previous" : "current");
    const std::string which = HasPrevious(m) ? "the last complete window" : "the current value";
    if (a.below) {
      Rule r =
          MetricAlert(m, a, "NsmMetricBelowThreshold",
                      absl::StrCat(m.name, " is {{ $value }} in ", which, ", below ", *a.below));
      r.expr = Gated(absl::StrCat(judged, " < ", *a.below));
      g.rules.push_back(std::move(r));
    }
    if (a.above) {
      Rule r =
          MetricAlert(m, a, "NsmMetricAboveThreshold",
                      absl::StrCat(m.name, " is {{ $value }} in ", which, ", above ", *a.above));
      r.expr = Gated(absl::StrCat(judged, " > ", *a.above));
      g.rules.push_back(std::move(r));
    }
  }
  return g;
}

RuleGroup RulesBuilder::DaemonAlerts() const {
  RuleGroup g{"nsmd.daemon-alerts", "", {}};
  auto add = [&](const char* name, std::string expr, const char* for_duration, const char* severity,
                 std::string summary, const char* description) {
    Rule r;
    r.alert = name;
    r.expr = std::move(expr);
    r.for_duration = for_duration;
    r.labels.emplace_back("severity", severity);
    r.annotations.emplace_back("summary", std::move(summary));
    r.annotations.emplace_back("description", description);
    if (!config_.alerting.runbook_url.empty()) {
      r.annotations.emplace_back("runbook_url", absl::StrCat(config_.alerting.runbook_url, "#",
                                                             absl::AsciiStrToLower(name)));
    }
    if (!config_.alerting.dashboard_url.empty()) {
      r.annotations.emplace_back("dashboard_url", config_.alerting.dashboard_url);
    }
    g.rules.push_back(std::move(r));
  };
  add("NsmdDown", "up == 0 and on (job, instance) max_over_time(nsmd_build_info[1h])", "5m",
      "critical", "nsmd {{ $labels.instance }} cannot be scraped",
      "The process is down or /metrics does not answer; its numbers are missing or stale.");
  add("NsmdNotReady", "nsmd_ready == 0", "10m", "critical",
      "nsmd {{ $labels.instance }} has not been ready for 10 minutes",
      "/readyz answers 503: no broker reachable, partitions not assigned, state not loaded or "
      "checkpoints failing. /readyz and the log say which.");
  add("NsmdNoEventsConsumed",
      absl::StrCat("increase(nsmd_events_consumed_total[10m]) == 0\nand on (job, instance)\n"
                   "delta(nsmd:consumer_lag:sum[10m]) > 0"),
      "5m", "critical",
      "nsmd {{ $labels.instance }} consumed nothing for 10 minutes while the "
      "topic grew",
      "Messages arrive (the consumer lag grows) but none is read.");
  add("NsmdConsumerLagGrowing", "nsmd:lagging == 1", "15m", "warning",
      "nsmd {{ $labels.instance }} falls behind its topics",
      "The consumer lag is more than a minute of consumption and still growing: nsmd is slower "
      "than the producers.");
  add("NsmdStreamTimeStalled", "nsmd:stalled == 1", "10m", "critical",
      "nsmd {{ $labels.instance }}: stream time has not moved for 10 minutes with messages waiting",
      "Events wait in Kafka but the newest event time does not advance: the pipeline is stuck, "
      "or every event read is late or rejected.");
  add("NsmdCheckpointFailing", "increase(nsmd_checkpoint_failures_total[5m]) > 0", "10m",
      "critical", "nsmd {{ $labels.instance }}: RocksDB refuses checkpoints",
      "Checkpoints fail (disk full, I/O error): offsets do not advance and nsmd is not ready "
      "until writes succeed again. Nothing is lost meanwhile.");
  add("NsmdReloadFailed", "nsmd_config_last_reload_successful == 0", "5m", "warning",
      "nsmd {{ $labels.instance }}: the last reload of the definitions failed",
      "The old definitions keep running. `nsmd check --config FILE` prints the errors.");
  add("NsmdRejectedShareHigh",
      absl::StrCat("nsmd:events_rejected:ratio_rate10m > ", config_.alerting.rejected_share), "15m",
      "warning", "{{ $value | humanizePercentage }} of the messages nsmd reads are rejected",
      "Producers send messages nsmd cannot use; nsmd_events_rejected_total{reason} says why "
      "(and the dead-letter topic holds them, if set).");
  if (TasksPerPartition(config_)) {
    // Instances split the partitions: each task needs exactly one owner.
    // "No owner" (0) is a task owned within the hour that nobody owns now.
    add("NsmdTaskOwnership",
        "count by (job, topic, partition) (nsmd_task_owned == 1) > 1\n"
        "or\n"
        "0 * (\n"
        "  max by (job, topic, partition) (max_over_time(nsmd_task_owned[1h]))\n"
        "  unless on (job, topic, partition) nsmd_task_owned\n"
        ")",
        "5m", "critical",
        "nsmd task {{ $labels.topic }}/{{ $labels.partition }} has {{ $value }} owners",
        "Every partition's task must be owned by exactly one instance of the group: with none "
        "its events are not counted, with two they are counted twice. Check the group's "
        "members (kafka-consumer-groups --describe) and the instances' logs.");
  }
  return g;
}

std::vector<RuleGroup> RulesBuilder::Groups() const {
  return {Recording(), MetricAlerts(), DaemonAlerts()};
}

std::string RulesBuilder::RuleFile() const {
  YAML::Emitter out;
  out << YAML::Comment(
      absl::StrCat("Generated by `nsmd rules --config ", config_.path, "`; do not edit."));
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const RuleGroup& g : Groups()) g.Emit(out);
  out << YAML::EndSeq << YAML::EndMap;
  return absl::StrCat(out.c_str(), "\n");
}

std::string RulesBuilder::PrometheusRule(const std::string& name) const {
  YAML::Emitter out;
  out << YAML::Comment(absl::StrCat("Generated by `nsmd rules --config ", config_.path,
                                    " --format prometheus-rule`; do not edit."));
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "monitoring.coreos.com/v1";
  out << YAML::Key << "kind" << YAML::Value << "PrometheusRule";
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << name;
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key
      << "app.kubernetes.io/name" << YAML::Value << "nsmd" << YAML::EndMap;
  out << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const RuleGroup& g : Groups()) g.Emit(out);
  out << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
  return absl::StrCat(out.c_str(), "\n");
}

}  // namespace nsmd
