// ConfigLoader: YAML text -> DaemonConfig, with file:line:col diagnostics.
#ifndef NSMD_DAEMON_CONFIG_CONFIG_LOADER_H_
#define NSMD_DAEMON_CONFIG_CONFIG_LOADER_H_

#include <optional>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// A problem found in a config file, located at 1-based line and column.
struct ConfigDiagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "FILE:LINE:COL: message" (with "warning: " before warnings' messages).
  std::string ToString() const;
};

struct ConfigLoadResult {
  std::optional<DaemonConfig> config;         // set iff there are no errors
  std::vector<ConfigDiagnostic> diagnostics;  // errors and warnings, in file order
};

// Reads and validates the config at `path`. Reports every error it can find
// (not just the first): unknown keys and window kinds (with a did-you-mean),
// keys given twice, wrong types, bad durations, unknown time zones, bad
// regexes, unknown metric references, every ratio cycle, ratio operands with
// different windows, group-by or cohort anchors, not exactly one north star,
// cohorts without an anchor. A metric with errors causes no follow-on errors
// in metrics that refer to it. Every diagnostic has a line and column >= 1.
ConfigLoadResult LoadConfigFile(const std::string& path);

// The same for YAML `text`; `file` is only used in diagnostics.
ConfigLoadResult ParseConfig(const std::string& text, const std::string& file);

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_CONFIG_LOADER_H_
