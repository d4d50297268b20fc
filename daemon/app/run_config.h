// The config of `nsmd run`: the file, with the command line's overrides.
#ifndef NSMD_DAEMON_APP_RUN_CONFIG_H_
#define NSMD_DAEMON_APP_RUN_CONFIG_H_

#include <optional>
#include <string>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// Flags of `nsmd run` that override the config file.
struct RunOverrides {
  std::optional<std::string> brokers;    // --brokers: kafka.brokers
  std::optional<std::string> state_dir;  // --state-dir: state.dir
  std::optional<std::string> listen;     // --listen: http.listen
  std::optional<int> threads;            // --threads: pipeline.threads
};

// Loads the config at `path`, prints its diagnostics to stderr and applies
// `overrides`; nullopt if it has errors. With `errors`, the diagnostics are
// also appended there, one per line (for POST /-/reload's answer).
std::optional<DaemonConfig> LoadRunConfig(const std::string& path, const RunOverrides& overrides,
                                          std::string* errors = nullptr);

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_RUN_CONFIG_H_
