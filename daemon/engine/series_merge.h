// SeriesMerge: one set of series from the shares of several tasks.
#ifndef NSMD_DAEMON_ENGINE_SERIES_MERGE_H_
#define NSMD_DAEMON_ENGINE_SERIES_MERGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// Adds up the samples of several engines that each hold a disjoint share of
// the events (one task per partition: every entity a metric counts lives in
// one task), read at the same stream time: samples of the same metric,
// window and labels are summed. A sum over disjoint shares is the value of
// the whole for every measure nsmd has: events and sums add, and distinct
// members or entities are counted once by the one task that holds them.
// Ratios are not summed: AppendRatios computes them from the summed
// operands.
//
// Example:
//   SeriesMerge merge(&metrics);
//   for (const auto& task : tasks) merge.Add(task.engine->Samples(now_ms));
//   std::vector<SeriesSample> all = merge.Finish();
class SeriesMerge {
 public:
  // `metrics` (the definitions the engines run) must outlive the merge.
  explicit SeriesMerge(const std::vector<MetricDefinition>* metrics) : metrics_(metrics) {}

  // Adds one engine's (non-ratio) samples.
  void Add(std::vector<SeriesSample> samples);

  // The summed samples in metric-definition order (then window, start and
  // labels), each group-by metric capped at its max_series label sets (those
  // past the cap by SeriesRank fold into "__other__", so many tasks together
  // show no more series than one, and instances that each hold some tasks
  // fold what one instance holding all would keep), followed by the ratios.
  std::vector<SeriesSample> Finish();

 private:
  using Key =
      std::tuple<std::string, std::string, int64_t, Labels>;  // metric, window, start, labels
  const std::vector<MetricDefinition>* metrics_;
  std::map<Key, SeriesSample> sums_;
};

// Appends to *out the samples of every ratio metric of `metrics`, computed
// from the samples of its operands in *out: for every numerator sample, the
// denominator sample of the same window (label and start) and labels; a
// zero or absent denominator gives no sample. Ratios of ratios are resolved
// in turn (the config forbids cycles).
void AppendRatios(const std::vector<MetricDefinition>& metrics, std::vector<SeriesSample>* out);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_SERIES_MERGE_H_
