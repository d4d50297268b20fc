#include "daemon/engine/engine.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/calendar.h"
#include "daemon/engine/dedup_index.h"
#include "daemon/engine/metric_state.h"
#include "daemon/engine/series_merge.h"
#include "daemon/engine/stream_clock.h"

namespace nsmd {

Engine::Engine(std::vector<MetricDefinition> metrics, EngineOptions options)
    : metrics_(std::move(metrics)),
      options_(options),
      clock_(std::make_unique<StreamClock>(options.allowed_lateness)),
      calendar_(std::make_unique<Calendar>(options.time_zone, options.week_start)),
      dedup_(std::make_unique<DedupIndex>(options.dedup_horizon)) {}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::vector<MetricDefinition> metrics,
                                                       EngineOptions options) {
  absl::flat_hash_map<std::string, const MetricDefinition*> by_name;
  for (const MetricDefinition& m : metrics) {
    if (!by_name.emplace(m.name, &m).second) {
      return absl::InvalidArgumentError(absl::StrCat("metric \"", m.name, "\" defined twice"));
    }
  }
  for (const MetricDefinition& m : metrics) {
    if (m.measure.kind != MeasureKind::kRatio) continue;
    for (const std::string& operand : {m.measure.numerator, m.measure.denominator}) {
      if (!by_name.contains(operand)) {
        return absl::InvalidArgumentError(
            absl::StrCat("ratio \"", m.name, "\" refers to unknown metric \"", operand, "\""));
      }
    }
  }
  std::unique_ptr<Engine> engine(new Engine(std::move(metrics), options));
  for (const MetricDefinition& m : engine->metrics_) {
    engine->states_.push_back(
        m.measure.kind == MeasureKind::kRatio
            ? nullptr
            : std::make_unique<MetricState>(&m, engine->calendar_.get(),
                                            absl::ToInt64Milliseconds(options.allowed_lateness)));
  }
  engine->IndexStatesByEventName();
  return engine;
}

void Engine::IndexStatesByEventName() {
  // Which filters of metric `i` accept `name` (null: a name no filter
  // names).
  auto match = [this](size_t i, const std::string* name) {
    auto accepts = [name](const Filter& f) {
      return name == nullptr ? f.names().empty() : f.AcceptsName(*name);
    };
    const MetricDefinition& m = metrics_[i];
    return NameMatch{accepts(m.filter),
                     m.window.kind == WindowKind::kCohort && accepts(m.window.anchor)};
  };
  absl::flat_hash_set<std::string> named;
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!states_[i]) continue;
    const MetricDefinition& m = metrics_[i];
    named.insert(m.filter.names().begin(), m.filter.names().end());
    if (m.window.kind == WindowKind::kCohort) {
      named.insert(m.window.anchor.names().begin(), m.window.anchor.names().end());
    }
  }
  auto add_matching = [&](const std::string* name, std::vector<NamedState>* out) {
    for (size_t i = 0; i < states_.size(); ++i) {
      if (!states_[i]) continue;
      const NameMatch names = match(i, name);
      if (names.filter || names.anchor) out->push_back(NamedState{states_[i].get(), names});
    }
  };
  for (const std::string& name : named) add_matching(&name, &states_by_name_[name]);
  add_matching(nullptr, &states_for_other_names_);
}

int Engine::RegisterSource(absl::string_view name) { return clock_->Register(name); }

void Engine::SetSourceActivity(const absl::flat_hash_map<std::string, bool>& active_idle,
                               bool others_idle, const std::vector<std::string>& held_prefixes) {
  clock_->SetActivity(active_idle, others_idle, held_prefixes);
}

Engine::Outcome Engine::Apply(const Event& event, int source) {
  if (restore_unfinished_) FinishRestore();
  if (event.time < expire_floor_) return Outcome::kLate;
  if (clock_->ObserveOrLate(source, event.time)) return Outcome::kLate;
  if (dedup_->enabled() && !event.id.empty() &&
      dedup_->SeenOrAdd(event.id, event.IdHash(), event.time)) {
    return Outcome::kDuplicate;
  }
  for (const NamedState& s : StatesFor(event.name)) s.state->Apply(event, s.names, &pending_);
  return Outcome::kApplied;
}

void Engine::PrefetchId(const Event& event) {
  if (dedup_->enabled() && !event.id.empty()) dedup_->Prefetch(event.id, event.IdHash());
}

void Engine::Prefetch(const Event& event) {
  for (const NamedState& s : StatesFor(event.name)) s.state->Prefetch(event, s.names);
}

void Engine::FinishRestore() {
  for (auto& state : states_) {
    if (state) state->FinishRestore();
  }
  restore_unfinished_ = false;
}

absl::Status Engine::Restore(absl::string_view key, absl::string_view value) {
  restore_unfinished_ = true;
  if (absl::StartsWith(key, "s/")) return clock_->Restore(key, value);
  if (absl::StartsWith(key, DedupIndex::kKeyPrefix)) return dedup_->Restore(key, value);
  if (!absl::StartsWith(key, "m/")) {
    return absl::DataLossError(absl::StrCat("unexpected engine state key \"", key, "\""));
  }
  std::vector<std::string> parts;
  for (auto& state : states_) {
    if (state && state->key().Parse(key, &parts)) return state->Restore(parts, value);
  }
  // "m/<name>/<fingerprint>/": a metric removed or redefined since.
  size_t slash = key.find('/', 2);
  slash = slash == absl::string_view::npos ? slash : key.find('/', slash + 1);
  if (slash == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat("malformed engine state key \"", key, "\""));
  }
  std::string prefix(key.substr(0, slash + 1));
  if (std::find(stale_prefixes_.begin(), stale_prefixes_.end(), prefix) == stale_prefixes_.end()) {
    stale_prefixes_.push_back(std::move(prefix));
  }
  return absl::OkStatus();
}

void Engine::Expire() {
  if (restore_unfinished_) FinishRestore();
  const EventTime now = clock_->now();
  for (auto& state : states_) {
    if (state) state->TakeDelta(&pending_);
  }
  const EventTime horizon = clock_->horizon();
  expire_floor_ = std::max(expire_floor_, horizon);
  // Ids expire by the oldest time any source may still deliver.
  dedup_->Expire(std::min(now, expire_floor_), &pending_);
  if (retain_all_windows_) return;
  for (auto& state : states_) {
    if (state) state->Expire(now, expire_floor_, &pending_);
  }
}

void Engine::TakeDelta(StateDelta* delta) {
  if (restore_unfinished_) FinishRestore();
  Expire();
  dedup_->TakeDelta(&pending_);  // also when deduplication expires nothing
  clock_->TakeDelta(delta);
  delta->Absorb(&pending_);
}

std::vector<SeriesSample> Engine::Samples(EventTime now) const {
  std::vector<SeriesSample> out;
  for (const auto& state : states_) {
    if (state) state->Snapshot(now, &out);
  }
  return out;
}

std::vector<SeriesSample> Engine::WindowSamples(EventTime now) const {
  std::vector<SeriesSample> out;
  for (const auto& state : states_) {
    if (state) state->AllWindows(now, &out);
  }
  return out;
}

MetricsSnapshot Engine::Snapshot() const {
  MetricsSnapshot snapshot;
  snapshot.stream_time = clock_->now();
  snapshot.samples = Samples(snapshot.stream_time);
  AppendRatios(metrics_, &snapshot.samples);
  return snapshot;
}

std::vector<SeriesSample> Engine::AllWindows() const {
  std::vector<SeriesSample> out = WindowSamples(clock_->now());
  AppendRatios(metrics_, &out);
  SortWindows(&out);
  return out;
}

void SortWindows(std::vector<SeriesSample>* samples) {
  std::stable_sort(samples->begin(), samples->end(),
                   [](const SeriesSample& a, const SeriesSample& b) {
                     return std::tie(a.metric, a.window_start_ms, a.labels) <
                            std::tie(b.metric, b.window_start_ms, b.labels);
                   });
}

EventTime Engine::stream_time() const { return clock_->now(); }

}  // namespace nsmd
