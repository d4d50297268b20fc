// `nsmd check`: validates a config before it is deployed.
#include <cstdio>
#include <string>
#include <vector>

#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/config/config_loader.h"
#include "daemon/config/metric_tree.h"

namespace nsmd {

int CheckCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config"});
  if (!flags.ok() || !flags->Get("config")) {
    std::fprintf(stderr, "usage: nsmd check --config FILE\n");
    return 2;
  }
  const std::string path = *flags->Get("config");
  ConfigLoadResult result = LoadConfigFile(path);
  for (const ConfigDiagnostic& d : result.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  if (!result.config) return 1;
  std::printf("%s: %zu metrics, valid\n\n%s", path.c_str(), result.config->metrics.size(),
              RenderMetricTree(result.config->metrics, *result.config->catalog).c_str());
  return 0;
}

}  // namespace nsmd
