// Micro-benchmarks of the hot path, stage by stage: decode, filter, each
// measure's update, checkpoint writes, and the whole decode -> engine ->
// state pipeline with the saas example config. Figures: benchmarks/RESULTS.md.
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/saas_events.h"
#include "daemon/app/pipeline.h"
#include "daemon/config/config_loader.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/engine/engine.h"
#include "daemon/state/state_delta.h"
#include "daemon/state/state_store.h"

namespace nsmd {
namespace {

DaemonConfig LoadOrDie(const std::string& text, const std::string& name) {
  ConfigLoadResult r = ParseConfig(text, name);
  if (!r.config) {
    for (const ConfigDiagnostic& d : r.diagnostics)
      std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::abort();
  }
  return std::move(*r.config);
}

DaemonConfig SaasConfig() {
  ConfigLoadResult r = LoadConfigFile(NSMD_SOURCE_DIR "/config/examples/saas.yaml");
  if (!r.config) std::abort();
  return std::move(*r.config);
}

// Decoded events whose strings this object owns (a decoder's events are
// only valid until its next call), so engine benchmarks time the engine.
class PinnedEvents {
 public:
  PinnedEvents(const std::vector<std::string>& texts, const DaemonConfig& config) {
    EventDecoder decoder(config.format, config.catalog.get());
    for (const std::string& text : texts) {
      const Event* e = nullptr;
      RejectReason reason;
      if (!decoder.Decode(text, &e, &reason).ok()) continue;
      Event copy = *e;
      copy.name = Keep(e->name);
      copy.id = absl::string_view();  // no dedup: events are replayed in a loop
      copy.id_hashed = false;
      for (FieldValue& f : copy.fields) {
        if (f.kind == FieldValue::Kind::kString) f.str = Keep(f.str);
      }
      events_.push_back(std::move(copy));
    }
  }
  std::vector<Event>& events() { return events_; }

 private:
  absl::string_view Keep(absl::string_view s) {
    storage_.emplace_back(s.data(), s.size());
    return storage_.back();
  }
  std::deque<std::string> storage_;
  std::vector<Event> events_;
};

void BM_DecodeSegmentEvent(benchmark::State& state) {
  const DaemonConfig config = SaasConfig();
  const std::vector<std::string> texts = SaasEventTexts(4096);
  EventDecoder decoder(config.format, config.catalog.get());
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& text = texts[i++ & 4095];
    const Event* e = nullptr;
    RejectReason reason;
    benchmark::DoNotOptimize(decoder.Decode(text, &e, &reason));
    bytes += text.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeSegmentEvent);

void BM_FilterEvaluate(benchmark::State& state) {
  const DaemonConfig config = LoadOrDie(R"(
metrics:
  - name: m
    role: north_star
    filter:
      event: [file_edited, comment_added]
      where: {all: [{field: properties.plan, in: [team, enterprise]}, {field: userId, exists: true}]}
    measure: events
    window: lifetime
)",
                                        "filter.yaml");
  PinnedEvents pinned(SaasEventTexts(4096), config);
  const Filter& filter = config.metrics[0].filter;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.Matches(pinned.events()[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FilterEvaluate);

// One metric per measure kind, fed the saas stream with event time moving
// forward one second per event (so windows roll and expire as live).
const char* const kMeasures[] = {
    // 0: events
    "filter: {event: file_edited}\n    measure: events\n    window: {tumbling: day}",
    // 1: distinct
    "filter: {event: [file_edited, comment_added]}\n    measure: {distinct: userId}\n"
    "    window: {tumbling: week}",
    // 2: entities with a threshold
    "filter: {event: [file_edited, comment_added]}\n"
    "    measure: {entities: context.groupId, having: \"distinct(userId) > 3\"}\n"
    "    window: {tumbling: week}",
    // 3: sum
    "filter: {event: page_viewed}\n    measure: {sum: properties.duration_ms}\n"
    "    window: {tumbling: day}",
    // 4: cohort
    "filter: {event: [file_edited, comment_added]}\n"
    "    measure: {entities: context.groupId, having: \"distinct(userId) > 3\"}\n"
    "    window: {cohort: {anchor: {event: team_created}, entity: context.groupId, length: 7d, "
    "period: week}}",
    // 5: rolling distinct
    "filter: {event: [file_edited, comment_added]}\n    measure: {distinct: userId}\n"
    "    window: {rolling: 7d}",
};
const char* const kMeasureNames[] = {"events", "distinct", "entities",
                                     "sum",    "cohort",   "rolling_distinct"};

void BM_MeasureUpdate(benchmark::State& state) {
  const DaemonConfig config =
      LoadOrDie(absl::StrCat("metrics:\n  - name: m\n    role: north_star\n    ",
                             kMeasures[state.range(0)], "\n"),
                "measure.yaml");
  PinnedEvents pinned(SaasEventTexts(1 << 16, 300, absl::Seconds(1)), config);
  auto engine = Engine::Create(config.metrics, config.engine);
  if (!engine.ok()) std::abort();
  const int source = (*engine)->RegisterSource("bench/0");
  std::vector<Event>& events = pinned.events();
  const int64_t span = events.back().time.millis() - events.front().time.millis() + 1000;
  int64_t round = 0;
  size_t i = 0;
  StateDelta delta;
  for (auto _ : state) {
    Event& e = events[i];
    const EventTime original = e.time;
    e.time = EventTime(original.millis() + round * span);
    benchmark::DoNotOptimize((*engine)->Apply(e, source));
    e.time = original;
    if (++i == events.size()) {
      i = 0;
      ++round;
    }
    if ((i & 0xffff) == 0) (*engine)->TakeDelta(&delta), delta.Clear();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kMeasureNames[state.range(0)]);
}
BENCHMARK(BM_MeasureUpdate)->DenseRange(0, 5);

void BM_CheckpointDirtyKeys(benchmark::State& state) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("nsmd-bench-", getpid());
  std::filesystem::remove_all(dir);
  auto store = StateStore::Open(dir.string(), "bench");
  if (!store.ok()) std::abort();
  const int64_t n = state.range(0);
  int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    StateDelta delta;
    for (int64_t k = 0; k < n; ++k) {
      // Realistic rows: a distinct member of a weekly metric.
      const absl::string_view nul("\0", 1);
      delta.Put(absl::StrCat("m/weekly_active_users/4f2a9c1e/d", nul, "1704067200000", nul, nul,
                             "u-", (k * 7919 + round) % 1000003),
                absl::StrCat(round));
    }
    ++round;
    state.ResumeTiming();
    if (!(*store)->Commit(delta, {{"events", PartitionId(0), KafkaOffset(round)}}).ok())
      std::abort();
  }
  state.SetItemsProcessed(state.iterations() * n);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CheckpointDirtyKeys)->Arg(100)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// The whole replay path (decode -> 8 saas metrics -> checkpoint) on one core.
void BM_PipelineSaas(benchmark::State& state) {
  const DaemonConfig config = SaasConfig();
  const std::vector<std::string> texts = SaasEventTexts(1 << 17, 300, absl::Seconds(2));
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("nsmd-bench-pipe-", getpid());
  std::filesystem::remove_all(dir);
  auto store = StateStore::Open(dir.string(), "bench");
  if (!store.ok()) std::abort();
  auto pipeline = Pipeline::Create(config, store->get(), nullptr);
  if (!pipeline.ok()) std::abort();
  int64_t offset = 0;
  for (auto _ : state) {
    const std::string& text = texts[offset % texts.size()];
    (*pipeline)->Process("bench", PartitionId(0), KafkaOffset(offset++), text);
    if ((offset & 0xffff) == 0) {
      if (!(*pipeline)->Checkpoint().ok()) std::abort();
    }
  }
  state.SetItemsProcessed(state.iterations());
  pipeline->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PipelineSaas)->Iterations(1 << 17);

}  // namespace
}  // namespace nsmd

BENCHMARK_MAIN();
