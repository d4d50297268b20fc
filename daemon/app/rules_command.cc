// `nsmd rules`: Prometheus rules (or their PrometheusRule, or the matching
// Alertmanager snippet) generated from a config's definitions.
#include <cstdio>
#include <string>
#include <vector>

#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/load_config_or_report.h"
#include "daemon/ops/alertmanager_snippet_builder.h"
#include "daemon/ops/rules_builder.h"
#include "daemon/ops/rules_test_builder.h"

namespace nsmd {

int RulesCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "usage: nsmd rules --config FILE [--format rules|prometheus-rule|alertmanager|tests] "
      "[--name NAME] [--rules-file PATH]\n";
  auto flags = CommandLine::Parse(args, {"config", "format", "name", "rules-file"});
  if (!flags.ok() || !flags->Get("config")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string format = flags->Get("format").value_or("rules");
  if (format != "rules" && format != "prometheus-rule" && format != "alertmanager" &&
      format != "tests") {
    std::fprintf(stderr, "nsmd rules: unknown --format \"%s\"\n%s", format.c_str(), kUsage);
    return 2;
  }
  std::optional<DaemonConfig> config = LoadConfigOrReport(*flags->Get("config"));
  if (!config) return 1;
  std::string text;
  if (format == "tests") {
    text = RulesTestBuilder(*config).Build(flags->Get("rules-file").value_or("nsmd-rules.yml"));
  } else if (format == "alertmanager") {
    text = AlertmanagerSnippetBuilder(*config).Build();
  } else if (format == "prometheus-rule") {
    text = RulesBuilder(*config).PrometheusRule(flags->Get("name").value_or("nsmd"));
  } else {
    text = RulesBuilder(*config).RuleFile();
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace nsmd
