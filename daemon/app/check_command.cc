// `nsmd check`: validates a config before it is deployed.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/load_config_or_report.h"
#include "daemon/app/pipeline.h"
#include "daemon/config/metric_tree.h"
#include "daemon/config/task_layout.h"
#include "daemon/engine/key_partitioning.h"
#include "daemon/ops/window_timing.h"

namespace nsmd {
namespace {

// "collaborating_teams: drop > 20% vs the previous window, ..." for each
// metric with an `alert:` block, then the alerting section's links.
std::string RenderAlerts(const DaemonConfig& config) {
  if (config.alerts.empty()) return "";
  std::string out = "\nalerts (nsmd rules):\n";
  for (const MetricDefinition& m : config.metrics) {
    auto it = config.alerts.find(m.name);
    if (it == config.alerts.end()) continue;
    const AlertSpec& a = it->second;
    std::vector<std::string> parts;
    if (a.drop_percent) {
      parts.push_back(absl::StrCat(
          "drop > ", *a.drop_percent, "% vs ",
          a.compare_to ? absl::StrCat("the same point ", PromDuration(*a.compare_to), " ago")
                       : "the same point of the previous window"));
    }
    if (a.stall_windows > 0) {
      parts.push_back(absl::StrCat("no change for ", a.stall_windows, " windows"));
    }
    if (a.below) parts.push_back(absl::StrCat("below ", *a.below));
    if (a.above) parts.push_back(absl::StrCat("above ", *a.above));
    parts.push_back(absl::StrCat("for ", PromDuration(AlertFor(m, a)),
                                 a.for_duration ? "" : " (from the cadence)"));
    parts.push_back(absl::StrCat("severity ", a.severity));
    absl::StrAppend(&out, "  ", m.name, ": ", absl::StrJoin(parts, ", "), "\n");
  }
  if (!config.alerting.runbook_url.empty()) {
    absl::StrAppend(&out, "  runbook: ", config.alerting.runbook_url, "\n");
  }
  if (!config.alerting.dashboard_url.empty()) {
    absl::StrAppend(&out, "  dashboard: ", config.alerting.dashboard_url, "\n");
  }
  return out;
}

// How the state splits into tasks (TaskLayoutOf): the repartition topics
// of a re-keyed layout, or the metrics that keep it whole.
std::string RenderTasks(const DaemonConfig& config) {
  const std::string key = config.kafka.key_field.empty() ? "not set" : config.kafka.key_field;
  absl::StatusOr<std::vector<FieldId>> fields =
      RekeyFields(config.metrics, *config.catalog, config.kafka.key_field);
  switch (TaskLayoutOf(config)) {
    case TaskLayout::kPerPartition:
      return absl::StrCat(
          "\ntasks: one per partition (kafka.key_field: ", key,
          "): instances in one consumer group split the partitions and their numbers add up\n");
    case TaskLayout::kRekeyed: {
      std::string out = absl::StrCat(
          "\ntasks: one per partition, re-keyed (kafka.key_field: ", key,
          "): instances in one consumer group split the partitions and their numbers add up. "
          "Re-keyed through repartition topics (kafka.rekey: false keeps one whole-input task "
          "instead, for a single instance):\n");
      for (FieldId field : fields.ok() ? *fields : std::vector<FieldId>()) {
        absl::StrAppend(
            &out, "  ",
            Pipeline::RekeyTopicName(config.kafka.group_id, config.catalog->path(field)), ":");
        for (const MetricDefinition& m : config.metrics) {
          if (RekeyFieldOf(m, *config.catalog, config.kafka.key_field) == field) {
            absl::StrAppend(&out, " ", m.name);
          }
        }
        absl::StrAppend(&out, "\n");
      }
      return out;
    }
    case TaskLayout::kWholeInput: break;
  }
  std::string out =
      absl::StrCat("\ntasks: one for the whole input (kafka.key_field: ", key,
                   "): run a single instance per consumer group. Needing their events keyed by "
                   "another field (re-keying",
                   fields.ok() ? ", which kafka.rekey: true turns on" : "", "):\n");
  for (const MetricDefinition& m : config.metrics) {
    if (std::optional<std::string> gap =
            KeyPartitioningGap(m, *config.catalog, config.kafka.key_field)) {
      absl::StrAppend(&out, "  ", m.name, ": ", *gap, "\n");
    }
  }
  if (!fields.ok()) {
    absl::StrAppend(&out, "  re-keying cannot help: ", fields.status().message(), "\n");
  }
  return out;
}

}  // namespace

int CheckCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config"});
  if (!flags.ok() || !flags->Get("config")) {
    std::fprintf(stderr, "usage: nsmd check --config FILE\n");
    return 2;
  }
  const std::string path = *flags->Get("config");
  std::optional<DaemonConfig> config = LoadConfigOrReport(path);
  if (!config) return 1;
  std::printf("%s: %zu metrics, valid\n\n%s", path.c_str(), config->metrics.size(),
              RenderMetricTree(config->metrics, *config->catalog).c_str());
  std::printf("%s", RenderAlerts(*config).c_str());
  std::printf("%s", RenderTasks(*config).c_str());
  return 0;
}

}  // namespace nsmd
