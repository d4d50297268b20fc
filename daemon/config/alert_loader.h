// AlertLoader: reads `alert:` blocks of metrics and the top-level `alerting:`
// section, reporting each problem at the node it concerns. Internal to the
// config loader.
#ifndef NSMD_DAEMON_CONFIG_ALERT_LOADER_H_
#define NSMD_DAEMON_CONFIG_ALERT_LOADER_H_

#include <string>

#include "daemon/config/alert_spec.h"
#include "daemon/config/yaml_reader.h"
#include "daemon/engine/metric_definition.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// Not thread-safe; `reader` must outlive it.
class AlertLoader {
 public:
  explicit AlertLoader(YamlReader* reader) : reader_(reader) {}

  // Reads the `alert:` mapping `n` of `metric` (its measure and, unless it
  // is a ratio, its window already loaded). Returns false, having reported
  // every problem, if it is invalid: unknown keys, a percent outside
  // (0, 100], a lifetime window compared with a "previous window" it does
  // not have, below >= above, reserved label names, no condition at all.
  bool LoadAlert(const YAML::Node& n, const MetricDefinition& metric, AlertSpec* out);

  // Reads the top-level `alerting:` mapping. False if invalid.
  bool LoadAlerting(const YAML::Node& n, AlertingConfig* out);

 private:
  // An http:// or https:// URL.
  bool Url(const YAML::Node& n, const std::string& what, std::string* out);

  YamlReader* const reader_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_ALERT_LOADER_H_
