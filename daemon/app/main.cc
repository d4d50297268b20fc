// nsmd: North Star Metric daemon. Dispatches to one subcommand.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "daemon/app/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: nsmd <command> [flags]\n"
    "\n"
    "commands:\n"
    "  run     --config FILE [--brokers LIST] [--state-dir DIR] [--listen HOST:PORT]\n"
    "          [--threads N] [--enable-reload-endpoint]\n"
    "          consume events from Kafka and serve the metrics (--enable-reload-endpoint\n"
    "          also accepts POST /-/reload)\n"
    "  broker  [--topic NAME] [--partitions N] [--brokers N]\n"
    "          run librdkafka's mock Kafka cluster; prints its bootstrap address\n"
    "  check   --config FILE\n"
    "          validate a config and print its metric tree\n"
    "  replay  --config FILE --input FILE.ndjson[.gz]|- [--series json] [--state-dir DIR]\n"
    "          run events from a file through the engine, print the results\n"
    "  validate --config FILE --input FILE.ndjson[.gz]|- [--report FILE.html] [--json FILE]\n"
    "          [--max-lag N] [--threshold R] [--noise-band FRACTION] [--min-periods N]\n"
    "          test the north star (and candidates) against history: does it lead\n"
    "          the validation metric, move often enough, follow its inputs?\n"
    "  rules   --config FILE [--format rules|prometheus-rule|alertmanager|tests]\n"
    "          [--name NAME] [--rules-file PATH]\n"
    "          print the Prometheus rules (or PrometheusRule, or Alertmanager snippet)\n"
    "          generated from the definitions\n"
    "  dashboard --config FILE\n"
    "          print the Grafana dashboard generated from the definitions\n"
    "  version print the version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  absl::string_view command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "run") return nsmd::RunCommand(args);
  if (command == "broker") return nsmd::BrokerCommand(args);
  if (command == "check") return nsmd::CheckCommand(args);
  if (command == "replay") return nsmd::ReplayCommand(args);
  if (command == "validate") return nsmd::ValidateCommand(args);
  if (command == "rules") return nsmd::RulesCommand(args);
  if (command == "dashboard") return nsmd::DashboardCommand(args);
  if (command == "version" || command == "--version") {
    std::printf("nsmd %s\n", NSMD_VERSION);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "nsmd: unknown command \"%s\"\n\n%s", argv[1], kUsage);
  return 2;
}
