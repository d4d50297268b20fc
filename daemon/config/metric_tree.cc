#include "daemon/config/metric_tree.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nsmd {
namespace {

std::string Path(const FieldCatalog& catalog, FieldId id) {
  return id >= 0 && id < catalog.size() ? catalog.path(id) : "?";
}

const char* ComparisonText(Comparison c) {
  switch (c) {
    case Comparison::kGt: return ">";
    case Comparison::kGte: return ">=";
    case Comparison::kLt: return "<";
    case Comparison::kLte: return "<=";
    case Comparison::kEq: return "==";
  }
  return "?";
}

}  // namespace

std::string DescribeMetric(const MetricDefinition& m, const FieldCatalog& catalog) {
  std::string measure;
  const MeasureSpec& ms = m.measure;
  switch (ms.kind) {
    case MeasureKind::kEvents: measure = "events"; break;
    case MeasureKind::kDistinct:
      measure = absl::StrCat("distinct ", Path(catalog, ms.field));
      break;
    case MeasureKind::kSum: measure = absl::StrCat("sum ", Path(catalog, ms.field)); break;
    case MeasureKind::kEntities: {
      std::string aggregate = "count";
      if (ms.aggregate == EntityAggregate::kDistinct) {
        aggregate = absl::StrCat("distinct(", Path(catalog, ms.aggregate_field), ")");
      } else if (ms.aggregate == EntityAggregate::kSum) {
        aggregate = absl::StrCat("sum(", Path(catalog, ms.aggregate_field), ")");
      }
      measure = absl::StrCat("entities ", Path(catalog, ms.entity), " with ", aggregate, " ",
                             ComparisonText(ms.comparison), " ", ms.threshold);
      break;
    }
    case MeasureKind::kRatio: measure = absl::StrCat(ms.numerator, " / ", ms.denominator); break;
  }
  std::string window;
  const WindowSpec& w = m.window;
  switch (w.kind) {
    case WindowKind::kTumbling: window = absl::StrCat("tumbling ", CalendarUnitName(w.unit)); break;
    case WindowKind::kRolling:
      window = absl::StrCat("rolling ", absl::FormatDuration(w.length));
      break;
    case WindowKind::kCohort:
      window = absl::StrCat("cohort of ", Path(catalog, w.cohort_entity), " by ",
                            CalendarUnitName(w.period), ", ", absl::FormatDuration(w.length),
                            " from the anchor");
      break;
    case WindowKind::kLifetime: window = "lifetime"; break;
  }
  std::string out = absl::StrCat(measure, ", ", window);
  if (!m.group_by.empty()) {
    std::vector<std::string> labels;
    for (const GroupBy& g : m.group_by) labels.push_back(g.label);
    absl::StrAppend(&out, ", by ", absl::StrJoin(labels, ", "));
    if (m.max_series > 0) absl::StrAppend(&out, " (max ", m.max_series, " series)");
  }
  return out;
}

std::string RenderMetricTree(const std::vector<MetricDefinition>& metrics,
                             const FieldCatalog& catalog) {
  absl::flat_hash_map<std::string, const MetricDefinition*> by_name;
  for (const MetricDefinition& m : metrics) by_name[m.name] = &m;
  absl::flat_hash_set<std::string> printed;
  std::string out;
  auto line = [&](const MetricDefinition& m, int depth, bool again) {
    absl::StrAppend(&out, std::string(depth * 2, ' '), depth > 0 ? "└─ " : "", m.name, " (",
                    MetricRoleName(m.metadata.role), ")",
                    again ? " (see above)" : absl::StrCat(": ", DescribeMetric(m, catalog)), "\n");
  };
  std::function<void(const MetricDefinition&, int)> visit = [&](const MetricDefinition& m,
                                                                int depth) {
    const bool again = !printed.insert(m.name).second;
    line(m, depth, again);
    if (again) return;
    for (const std::string& input : m.metadata.inputs) {
      auto it = by_name.find(input);
      if (it != by_name.end()) visit(*it->second, depth + 1);
    }
  };
  for (const MetricDefinition& m : metrics) {
    if (m.metadata.role == MetricRole::kNorthStar) visit(m, 0);
  }
  bool header = false;
  for (const MetricDefinition& m : metrics) {
    if (printed.contains(m.name)) continue;
    if (!header) absl::StrAppend(&out, "other metrics:\n");
    header = true;
    visit(m, 1);
  }
  return out;
}

}  // namespace nsmd
