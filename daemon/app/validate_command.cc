// `nsmd validate`: replays a history through the definitions (the path of
// `nsmd replay`), reads every metric once per cadence period of the north
// star, and tests the north star and its candidates as hypotheses: do they
// lead the validation metric, move often enough, and follow their inputs?
// Exit 0 whatever the verdicts; 1 for an error, 2 for bad usage.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/line_replay.h"
#include "daemon/app/pipeline.h"
#include "daemon/app/temp_state_dir.h"
#include "daemon/config/config_loader.h"
#include "daemon/engine/calendar.h"
#include "daemon/state/state_store.h"
#include "daemon/validate/period_table_builder.h"
#include "daemon/validate/validation.h"
#include "daemon/validate/validation_report.h"

namespace nsmd {
namespace {

constexpr char kUsage[] =
    "usage: nsmd validate --config FILE --input FILE.ndjson[.gz]|- [--report FILE.html] "
    "[--json FILE.json] [--max-lag N] [--threshold R] [--noise-band FRACTION] "
    "[--min-periods N]\n";

// Reads the numeric options given; false (with a message) for one that is
// not a number.
bool ParseOptions(const CommandLine& flags, ValidationOptions* options) {
  struct IntFlag {
    const char* name;
    int* value;
  };
  struct DoubleFlag {
    const char* name;
    double* value;
  };
  for (const IntFlag& f :
       {IntFlag{"max-lag", &options->max_lag}, IntFlag{"min-periods", &options->min_periods}}) {
    std::optional<std::string> v = flags.Get(f.name);
    if (v && !absl::SimpleAtoi(*v, f.value)) {
      std::fprintf(stderr, "nsmd validate: --%s: \"%s\" is not a whole number\n", f.name,
                   v->c_str());
      return false;
    }
  }
  for (const DoubleFlag& f : {DoubleFlag{"threshold", &options->threshold},
                              DoubleFlag{"noise-band", &options->noise_band}}) {
    std::optional<std::string> v = flags.Get(f.name);
    if (v && !absl::SimpleAtod(*v, f.value)) {
      std::fprintf(stderr, "nsmd validate: --%s: \"%s\" is not a number\n", f.name, v->c_str());
      return false;
    }
  }
  return true;
}

// Writes `text` to `path`; false (with a message) if it cannot.
bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "nsmd validate: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int ValidateCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config", "input", "report", "json", "max-lag",
                                         "threshold", "noise-band", "min-periods"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n%s", std::string(flags.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  const std::optional<std::string> config_path = flags->Get("config");
  const std::optional<std::string> input = flags->Get("input");
  ValidationOptions options;
  if (!config_path || !input) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!ParseOptions(*flags, &options)) return 2;
  if (absl::Status s = CheckOptions(options); !s.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  ConfigLoadResult loaded = LoadConfigFile(*config_path);
  for (const ConfigDiagnostic& d : loaded.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  if (!loaded.config) return 1;
  const DaemonConfig& config = *loaded.config;
  const MetricDefinition* north_star = nullptr;
  for (const MetricDefinition& m : config.metrics) {
    if (m.metadata.role == MetricRole::kNorthStar) north_star = &m;
  }
  absl::StatusOr<CalendarUnit> cadence = PeriodTableBuilder::CadenceOf(*north_star);
  if (!cadence.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", std::string(cadence.status().message()).c_str());
    return 1;
  }

  auto dir = TempStateDir::Create();
  if (!dir.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", dir.status().ToString().c_str());
    return 1;
  }
  auto store = StateStore::Open(dir->path(), config.kafka.group_id);
  if (!store.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto pipeline = Pipeline::Create(config, store->get(), nullptr);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", pipeline.status().ToString().c_str());
    return 1;
  }
  Pipeline& replayed = **pipeline;
  replayed.set_retain_all_windows(true);
  const EngineOptions& options_of_engine = replayed.engine_options();
  PeriodTableBuilder builder(replayed.metrics(), *cadence,
                             Calendar(options_of_engine.time_zone, options_of_engine.week_start));
  EventTimeHook hook;
  hook.at = EventTime(INT64_MIN);  // the first event starts the first period
  hook.reached = [&](EventTime event_time) {
    return builder.Reached(event_time, replayed.Snapshot());
  };
  const absl::Time start = absl::Now();
  if (absl::Status s =
          ReplayLines(*input, config.state.checkpoint_interval, pipeline->get(), &hook);
      !s.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", s.ToString().c_str());
    return 1;
  }
  const PeriodTable table = builder.Finish(replayed.AllWindows(), replayed.stream_time());
  absl::StatusOr<ValidationResult> result = Validate(table, options);
  if (!result.ok()) {
    std::fprintf(stderr, "nsmd validate: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  if (std::optional<std::string> path = flags->Get("report");
      path && !WriteFile(*path, ValidationHtml(*result, *config_path))) {
    return 1;
  }
  if (std::optional<std::string> path = flags->Get("json");
      path && !WriteFile(*path, ValidationJson(*result) + "\n")) {
    return 1;
  }
  const std::string summary = ValidationSummary(*result);
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  std::fflush(stdout);
  PrintReplayCounts((*pipeline)->counts(), absl::Now() - start);
  return 0;
}

}  // namespace nsmd
