#include "daemon/app/run_config.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/config/config_loader.h"

namespace nsmd {

std::optional<DaemonConfig> LoadRunConfig(const std::string& path, const RunOverrides& overrides,
                                          std::string* errors) {
  ConfigLoadResult result = LoadConfigFile(path);
  for (const ConfigDiagnostic& d : result.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
    if (errors != nullptr) absl::StrAppend(errors, errors->empty() ? "" : "\n", d.ToString());
  }
  if (!result.config) return std::nullopt;
  DaemonConfig& config = *result.config;
  if (overrides.brokers) config.kafka.brokers = *overrides.brokers;
  if (overrides.state_dir) config.state.dir = *overrides.state_dir;
  if (overrides.listen) config.http.listen = *overrides.listen;
  if (overrides.threads) config.pipeline.threads = *overrides.threads;
  return std::move(result.config);
}

}  // namespace nsmd
