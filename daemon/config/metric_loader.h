// MetricLoader: the `metrics` list of a config, checked as a whole.
#ifndef NSMD_DAEMON_CONFIG_METRIC_LOADER_H_
#define NSMD_DAEMON_CONFIG_METRIC_LOADER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "daemon/config/daemon_config.h"
#include "daemon/config/filter_loader.h"
#include "daemon/config/measure_loader.h"
#include "daemon/config/section_loader.h"
#include "daemon/config/window_loader.h"
#include "daemon/config/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// Reads every metric definition, then checks them together: names given
// twice, references (ratio operands, inputs) to metrics that do not exist,
// ratio cycles, ratio operands with different windows, group-by or cohort
// anchors, and exactly one north star. A metric with errors causes no
// follow-on errors in metrics that refer to it. The metrics without errors
// are appended to config->metrics, each with its fingerprint (its
// definition plus the `written` calendar and format). Not thread-safe;
// `reader` and `config` must outlive it.
class MetricLoader {
 public:
  MetricLoader(YamlReader* reader, DaemonConfig* config, FingerprintContext written);

  // Loads the list at `n` (the config's "metrics").
  void Load(const YAML::Node& n);

 private:
  struct Parsed {
    MetricDefinition def;
    YAML::Node node;
    bool has_window = false;
    bool name_ok = false;  // def.name holds a valid name
    bool role_ok = true;   // false if "role" was given but not understood
    // What a ratio's operands must share besides the window: the group-by
    // (labels and fields) and, for cohorts, the anchor. Ratios take their
    // numerator's.
    std::string group_text;
    std::string anchor_text;
    enum ResolveState { kUnresolved, kInProgress, kResolved, kFailed };
    ResolveState resolve_state = kUnresolved;  // ResolveRatioWindow's progress
  };

  // Reads one definition into *p; false after reporting any problem.
  bool LoadMetric(const YAML::Node& n, Parsed* p);
  // Reports every cycle of ratios (each once), at the measure of the
  // cycle's first metric in file order, listing it from there.
  void CheckRatioCycles(const std::vector<Parsed>& parsed,
                        const absl::flat_hash_map<std::string, size_t>& index);
  // Sets a ratio's window from its numerator (recursively); reports
  // operands whose windows differ. Returns false if unresolvable.
  bool ResolveRatioWindow(Parsed& p, std::vector<Parsed>& parsed,
                          const absl::flat_hash_map<std::string, size_t>& index);
  bool ResolveRatioOperands(Parsed& p, std::vector<Parsed>& parsed,
                            const absl::flat_hash_map<std::string, size_t>& index);
  // A text equal for two windows exactly when they are the same window.
  static std::string WindowText(const WindowSpec& w);

  YamlReader* const reader_;
  DaemonConfig* const config_;
  const FingerprintContext written_;
  FilterLoader filters_;
  MeasureLoader measures_;
  WindowLoader windows_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_METRIC_LOADER_H_
