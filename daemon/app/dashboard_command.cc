// `nsmd dashboard`: the Grafana dashboard of a config's definitions.
#include <cstdio>
#include <string>
#include <vector>

#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/load_config_or_report.h"
#include "daemon/ops/dashboard_builder.h"

namespace nsmd {

int DashboardCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config"});
  if (!flags.ok() || !flags->Get("config")) {
    std::fputs("usage: nsmd dashboard --config FILE\n", stderr);
    return 2;
  }
  std::optional<DaemonConfig> config = LoadConfigOrReport(*flags->Get("config"));
  if (!config) return 1;
  std::fputs(DashboardBuilder(*config).Build().c_str(), stdout);
  return 0;
}

}  // namespace nsmd
