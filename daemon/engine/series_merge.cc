#include "daemon/engine/series_merge.h"

#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "daemon/engine/group_index.h"
#include "daemon/engine/series_rank.h"

namespace nsmd {

void SeriesMerge::Add(std::vector<SeriesSample> samples) {
  for (SeriesSample& s : samples) {
    Key key{s.metric, s.window, s.window_start_ms, s.labels};
    auto [it, inserted] = sums_.try_emplace(std::move(key));
    if (inserted) {
      it->second = std::move(s);
    } else {
      it->second.value += s.value;
    }
  }
}

std::vector<SeriesSample> SeriesMerge::Finish() {
  // Group-by label sets beyond a metric's cap, by rank, fold into "__other__".
  for (const MetricDefinition& m : *metrics_) {
    if (m.group_by.empty()) continue;
    const size_t cap = static_cast<size_t>(m.max_series > 0 ? m.max_series : kDefaultMaxSeries);
    std::set<std::pair<uint64_t, Labels>> ranked;
    for (auto it = sums_.lower_bound(Key{m.name, "", INT64_MIN, {}});
         it != sums_.end() && std::get<0>(it->first) == m.name; ++it) {
      const Labels& labels = it->second.labels;
      if (!IsOtherSeries(labels)) ranked.emplace(SeriesRank(labels), labels);
    }
    if (ranked.size() <= cap) continue;
    std::set<Labels> folded;
    for (auto it = std::next(ranked.begin(), static_cast<ptrdiff_t>(cap)); it != ranked.end();
         ++it) {
      folded.insert(it->second);
    }
    Labels other;
    for (const GroupBy& g : m.group_by) other.emplace_back(g.label, GroupIndex::kOtherValue);
    std::vector<SeriesSample> moved;
    for (auto it = sums_.lower_bound(Key{m.name, "", INT64_MIN, {}});
         it != sums_.end() && std::get<0>(it->first) == m.name;) {
      if (folded.contains(it->second.labels)) {
        moved.push_back(std::move(it->second));
        moved.back().labels = other;
        it = sums_.erase(it);
      } else {
        ++it;
      }
    }
    Add(std::move(moved));
  }
  absl::flat_hash_map<std::string, size_t> order;
  for (size_t i = 0; i < metrics_->size(); ++i) order[(*metrics_)[i].name] = i;
  std::vector<std::pair<size_t, SeriesSample>> ranked;
  ranked.reserve(sums_.size());
  for (auto& [key, sample] : sums_) ranked.emplace_back(order[sample.metric], std::move(sample));
  sums_.clear();
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<SeriesSample> out;
  out.reserve(ranked.size());
  for (auto& [rank, sample] : ranked) out.push_back(std::move(sample));
  AppendRatios(*metrics_, &out);
  return out;
}

void AppendRatios(const std::vector<MetricDefinition>& metrics, std::vector<SeriesSample>* out) {
  using Key = std::tuple<std::string, std::string, int64_t, Labels>;
  std::map<Key, const SeriesSample*> index;
  auto rebuild = [&] {
    index.clear();
    for (const SeriesSample& s : *out)
      index[Key{s.metric, s.window, s.window_start_ms, s.labels}] = &s;
  };
  std::vector<bool> done(metrics.size(), false);
  for (size_t pass = 0; pass < metrics.size(); ++pass) {
    bool progress = false;
    rebuild();
    std::vector<SeriesSample> added;
    for (size_t i = 0; i < metrics.size(); ++i) {
      const MetricDefinition& m = metrics[i];
      if (done[i] || m.measure.kind != MeasureKind::kRatio) continue;
      // Wait until both operands are computed (or are not ratios).
      auto ready = [&](const std::string& name) {
        for (size_t j = 0; j < metrics.size(); ++j) {
          if (metrics[j].name == name) {
            return metrics[j].measure.kind != MeasureKind::kRatio || done[j];
          }
        }
        return true;
      };
      if (!ready(m.measure.numerator) || !ready(m.measure.denominator)) continue;
      for (const SeriesSample& num : *out) {
        if (num.metric != m.measure.numerator) continue;
        auto den =
            index.find(Key{m.measure.denominator, num.window, num.window_start_ms, num.labels});
        if (den == index.end() || den->second->value == 0) continue;
        added.push_back(SeriesSample{m.name, num.labels, num.window, num.window_start_ms,
                                     num.window_end_ms, num.value / den->second->value});
      }
      done[i] = true;
      progress = true;
    }
    out->insert(out->end(), added.begin(), added.end());
    if (!progress) break;
  }
}

}  // namespace nsmd
