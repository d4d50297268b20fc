// `nsmd replay`: runs a file of events through the daemon's own decode ->
// engine -> state path (no Kafka) and prints the results. Each line of the
// input (plain or gzip) is one message; its line number plays the role of the
// offset, and stream time advances with the events' own timestamps.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/line_replay.h"
#include "daemon/app/pipeline.h"
#include "daemon/app/status_json.h"
#include "daemon/app/temp_state_dir.h"
#include "daemon/config/config_loader.h"
#include "daemon/export/nsm_collectable.h"
#include "daemon/export/snapshot_publisher.h"
#include "daemon/state/state_store.h"
#include "prometheus/text_serializer.h"

namespace nsmd {

int ReplayCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config", "input", "series", "state-dir"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  const std::optional<std::string> config_path = flags->Get("config");
  const std::optional<std::string> input = flags->Get("input");
  const std::string series = flags->Get("series").value_or("");
  if (!config_path || !input || (!series.empty() && series != "json")) {
    std::fprintf(stderr,
                 "usage: nsmd replay --config FILE --input FILE.ndjson|- [--series json] "
                 "[--state-dir DIR]\n");
    return 2;
  }

  ConfigLoadResult loaded = LoadConfigFile(*config_path);
  for (const ConfigDiagnostic& d : loaded.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  if (!loaded.config) return 1;
  DaemonConfig& config = *loaded.config;

  // By default the state lives in a temporary dir, removed at the end. With
  // --state-dir it is kept there, under the config's consumer group, so that
  // `nsmd run` with the same config can start from it (e.g. to bootstrap
  // state from an archive of events).
  std::optional<TempStateDir> temp;
  std::string state_dir;
  std::string identity = config.kafka.group_id;
  if (std::optional<std::string> keep = flags->Get("state-dir")) {
    state_dir = *keep;
  } else {
    auto dir = TempStateDir::Create();
    if (!dir.ok()) {
      std::fprintf(stderr, "nsmd replay: %s\n", dir.status().ToString().c_str());
      return 1;
    }
    temp.emplace(std::move(*dir));
    state_dir = temp->path();
  }
  auto store = StateStore::Open(state_dir, identity);
  if (!store.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto pipeline = Pipeline::Create(config, store->get(), nullptr);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", pipeline.status().ToString().c_str());
    return 1;
  }
  if (!series.empty()) (*pipeline)->set_retain_all_windows(true);

  const absl::Time start = absl::Now();
  if (absl::Status s = ReplayLines(*input, config.state.checkpoint_interval, pipeline->get());
      !s.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", s.ToString().c_str());
    return 1;
  }
  const absl::Duration elapsed = absl::Now() - start;

  const Pipeline& done = **pipeline;
  if (series == "json") {
    std::string json = SeriesJson(done.AllWindows());
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
  } else {
    auto publisher = std::make_shared<SnapshotPublisher>();
    publisher->Publish(std::make_shared<const std::vector<MetricDefinition>>(done.metrics()),
                       std::make_shared<const MetricsSnapshot>(done.Snapshot()));
    NsmCollectable collectable(publisher);
    const std::string text = prometheus::TextSerializer().Serialize(collectable.Collect());
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
  PrintReplayCounts((*pipeline)->counts(), elapsed);
  return 0;
}

}  // namespace nsmd
