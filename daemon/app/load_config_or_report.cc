#include "daemon/app/load_config_or_report.h"

#include <cstdio>

#include "daemon/config/config_loader.h"

namespace nsmd {

std::optional<DaemonConfig> LoadConfigOrReport(const std::string& path) {
  ConfigLoadResult result = LoadConfigFile(path);
  for (const ConfigDiagnostic& d : result.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  return std::move(result.config);
}

}  // namespace nsmd
