#include "daemon/export/nsm_collectable.h"

#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"
#include "daemon/engine/series_rank.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace nsmd {
namespace {

using LabelList = std::vector<prometheus::ClientMetric::Label>;

bool HasLabel(const LabelList& labels, const std::string& name) {
  for (const auto& l : labels) {
    if (l.name == name) return true;
  }
  return false;
}

// metric, window, then the group-by labels, renamed where they collide.
LabelList SeriesLabels(const SeriesSample& s) {
  LabelList labels;
  labels.reserve(2 + s.labels.size());
  labels.push_back({"metric", s.metric});
  labels.push_back({"window", s.window});
  for (const auto& [name, value] : s.labels) {
    std::string unique = name;
    while (HasLabel(labels, unique)) unique = absl::StrCat("label_", unique);
    labels.push_back({std::move(unique), value});
  }
  return labels;
}

prometheus::ClientMetric GaugeMetric(LabelList labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

}  // namespace

NsmCollectable::NsmCollectable(std::shared_ptr<SnapshotPublisher> publisher)
    : publisher_(std::move(publisher)) {}

std::vector<prometheus::MetricFamily> NsmCollectable::Collect() const {
  // One read: the definitions and the snapshot belong together.
  const PublishedMetrics published = publisher_->published();
  const std::shared_ptr<const MetricsSnapshot>& snapshot = published.snapshot;
  const std::shared_ptr<const std::vector<MetricDefinition>>& definitions = published.definitions;

  prometheus::MetricFamily value = GaugeFamily(
      "nsm_metric_value",
      "Value of an NSM metric over its current or previous window, per group-by series.");
  prometheus::MetricFamily start = GaugeFamily(
      "nsm_metric_window_start_seconds",
      "Start of the window that the nsm_metric_value series with the same labels covers, "
      "in Unix seconds.");
  prometheus::MetricFamily rank = GaugeFamily(
      "nsm_metric_series_rank",
      "Rank of a group-by label set, the same on every instance: a metric keeps its max_series "
      "label sets of lowest rank and folds the rest into __other__, and the recording rules "
      "fold the instances' sum the same way.");
  // Metrics whose label sets are ranked: group-by, not ratios (computed
  // from their operands' folded series).
  absl::flat_hash_set<std::string> ranked;
  for (const MetricDefinition& d : *definitions) {
    if (!d.group_by.empty() && d.measure.kind != MeasureKind::kRatio) ranked.insert(d.name);
  }
  std::set<std::pair<std::string, Labels>> rank_done;
  value.metric.reserve(snapshot->samples.size());
  start.metric.reserve(snapshot->samples.size());
  for (const SeriesSample& s : snapshot->samples) {
    LabelList labels = SeriesLabels(s);
    if (ranked.contains(s.metric) && !IsOtherSeries(s.labels) &&
        rank_done.emplace(s.metric, s.labels).second) {
      LabelList rank_labels = labels;
      rank_labels.erase(rank_labels.begin() + 1);  // window
      rank.metric.push_back(
          GaugeMetric(std::move(rank_labels), static_cast<double>(SeriesRank(s.labels))));
    }
    start.metric.push_back(GaugeMetric(labels, static_cast<double>(s.window_start_ms) / 1000.0));
    value.metric.push_back(GaugeMetric(std::move(labels), s.value));
  }

  prometheus::MetricFamily info = GaugeFamily(
      "nsm_metric_info",
      "Metadata of each configured NSM metric: its role in the North Star tree, the metrics "
      "that drive it, owner and purpose. Always 1.");
  info.metric.reserve(definitions->size());
  for (const MetricDefinition& d : *definitions) {
    const MetricMetadata& md = d.metadata;
    info.metric.push_back(GaugeMetric(
        {
            {"metric", d.name},
            {"role", std::string(MetricRoleName(md.role))},
            {"description", md.description},
            {"customer_value", md.customer_value},
            {"decision_question", md.decision_question},
            {"cadence", md.cadence},
            {"owner", md.owner},
            {"unit", md.unit},
            {"inputs", absl::StrJoin(md.inputs, ",")},
        },
        1));
  }

  std::vector<prometheus::MetricFamily> families;
  for (prometheus::MetricFamily* f : {&value, &start, &rank, &info}) {
    if (!f->metric.empty()) families.push_back(std::move(*f));
  }
  return families;
}

}  // namespace nsmd
