// `nsmd run`: reads the flags and the config, then runs the Daemon.
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/crash_point.h"
#include "daemon/app/daemon.h"
#include "daemon/app/run_config.h"

namespace nsmd {

int RunCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config", "brokers", "state-dir", "listen", "threads"},
                                  {"enable-reload-endpoint"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd run: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  std::optional<std::string> path = flags->Get("config");
  if (!path) {
    std::fprintf(stderr, "nsmd run: --config FILE is required\n");
    return 2;
  }
  InitCrashPointFromEnv();  // test only; no effect unless NSMD_TEST_CRASH_POINT is set
  RunOverrides overrides{flags->Get("brokers"), flags->Get("state-dir"), flags->Get("listen"),
                         std::nullopt};
  if (std::optional<std::string> threads = flags->Get("threads")) {
    int n = 0;
    if (!absl::SimpleAtoi(*threads, &n) || n < 0 || n > 1024) {
      std::fprintf(stderr, "nsmd run: --threads must be a number from 0 (one per core) to 1024\n");
      return 2;
    }
    overrides.threads = n;
  }
  std::optional<DaemonConfig> config = LoadRunConfig(*path, overrides);
  if (!config) return 1;
  Daemon daemon(*path, overrides, std::move(*config), flags->Has("enable-reload-endpoint"));
  return daemon.Run();
}

}  // namespace nsmd
